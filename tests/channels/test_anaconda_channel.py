"""Our anaconda.org channel against the stand-in server: what it uploads anaconda-client
reads back, copies are server-side with the target's token, retries survive dropped
connections, 5xx and timeouts, and a name taken by other bytes is never overwritten."""

from __future__ import annotations

import hashlib
import logging
import urllib.parse
from pathlib import Path

import pytest
from binstar_client import errors

from migrator.channels.anaconda import AnacondaChannel, ChannelConflict, parse_time
from migrator.channels.anaconda_http import AnacondaApi, ApiError, RetryPolicy
from migrator.channels.base import hash_file
from migrator.channels.directory import LocalChannel
from migrator.channels.dists import Dist, parse_dist
from migrator.core.secret import Secret
from testing.anaconda_server import Faults
from testing.anaconda_server.client import anaconda_upload, binstar
from testing.anaconda_server.fixtures import (  # noqa: F401 (fixtures)
    POST_STAGING,
    PROD,
    STAGING,
    MakeSite,
    Site,
    make_site_fixture,
    site_fixture,
)
from testing.build_package import build_package
from testing.leakscan import scan

FAST = RetryPolicy(attempts=4, backoff=0.01, max_backoff=0.02, read_timeout=0.5)


def channel(site: Site, owner: str, policy: RetryPolicy = FAST) -> AnacondaChannel:
    return AnacondaChannel(AnacondaApi(site.server.url, Secret(site.tokens[owner]),
                                       policy=policy), owner)


def build(tmp: Path, name: str = "pkgb", *, subdir: str = "noarch",
          depends: tuple[str, ...] = ()) -> tuple[Path, Dist]:
    folder = tmp / f"built-{len(list(tmp.glob('built-*')))}"  # same names, other bytes
    path = build_package(folder, name=name, version="1.0", subdir=subdir, depends=depends)
    return path, parse_dist(f"{subdir}/{path.name}")


def test_upload_is_what_anaconda_client_reads_back(site: Site, tmp_path: Path) -> None:
    staging = channel(site, STAGING)
    path, dist = build(tmp_path, subdir="linux-64")
    assert staging.info(dist) is None
    staging.upload(path, dist, labels=("main", "rc"))
    found = staging.info(dist)
    assert found is not None and found.hashes == hash_file(path)
    assert found.labels == {"main", "rc"}
    seen = binstar(site.server, None).distribution(STAGING, dist.name, dist.version,
                                                   urllib.parse.quote(dist.key, safe=""))
    assert (seen["sha256"], seen["attrs"]["build"], seen["attrs"]["subdir"]) == (
        hash_file(path).sha256, "0", "linux-64")
    with pytest.raises(FileExistsError):
        staging.upload(path, dist)

    staging.download(dist, tmp_path / "back.conda")
    assert (tmp_path / "back.conda").read_bytes() == path.read_bytes()
    storage = [e for e in site.server.entries("storage") if e.method == "GET"]
    assert len(storage) == 1 and storage[0].login == "-"  # no token went to storage

    unlabelled, bare = build(tmp_path, name="pkgc")
    staging.upload(unlabelled, bare, labels=())
    held = staging.info(bare)
    assert held is not None and held.labels == frozenset()


def test_copy_is_server_side_with_the_target_token(site: Site, tmp_path: Path) -> None:
    staging, quarantine = channel(site, STAGING), channel(site, POST_STAGING)
    path, dist = build(tmp_path)
    staging.upload(path, dist, labels=("rc",))
    before = len(site.server.entries())
    staging.copy_to(quarantine, [dist], labels={"rc", "extra"})
    held = quarantine.info(dist)
    assert held is not None and held.hashes == hash_file(path)
    assert held.labels == {"rc", "extra"}
    calls = site.server.entries()[before:]
    assert [(e.method, e.path.split("/")[1], e.login) for e in calls] == [
        ("POST", "copy", "cf-post-staging-bot"),  # from_channel "extra": nothing copied
        ("GET", "dist", "cf-staging-bot"),  # which label it does carry
        ("POST", "copy", "cf-post-staging-bot"),
        ("POST", "channels", "cf-post-staging-bot"),  # the second label
        ("GET", "dist", "cf-post-staging-bot")]

    quarantine.set_labels(dist, {"main"})
    after = quarantine.info(dist)
    assert after is not None and after.labels == {"main"}
    quarantine.remove(dist)
    quarantine.remove(dist)  # absent: nothing to do
    assert quarantine.info(dist) is None
    with pytest.raises(FileNotFoundError):
        quarantine.set_labels(dist, {"main"})


def test_a_taken_name_is_settled_by_hash_and_never_overwritten(site: Site,
                                                                tmp_path: Path) -> None:
    staging, production = channel(site, STAGING), channel(site, PROD)
    path, dist = build(tmp_path)
    staging.upload(path, dist)
    same = tmp_path / "same"
    same.mkdir()
    (same / dist.fn).write_bytes(path.read_bytes())
    production.upload(same / dist.fn, dist)
    staging.copy_to(production, [dist], labels={"main"})  # 409, same bytes: copied

    other_path, _ = build(tmp_path, depends=("something-else",))
    other = parse_dist(f"noarch/{other_path.name}")
    assert other == dist and hash_file(other_path) != hash_file(path)
    staging.remove(dist)
    staging.upload(other_path, dist)
    with pytest.raises(ChannelConflict, match="other bytes"):
        staging.copy_to(production, [dist], labels={"main"})
    kept = production.info(dist)
    assert kept is not None and kept.hashes == hash_file(path)
    with pytest.raises(ChannelConflict):  # the sha256 the pipeline knows is enough
        staging.copy_to(production, [dist], labels={"main"},
                        records={dist.key: {"sha256": hash_file(other_path).sha256}})


def test_retries_survive_faults(make_site: MakeSite, tmp_path: Path,
                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    site = make_site(faults=Faults(stall=1.0))
    faults = site.server.faults
    staging, quarantine = channel(site, STAGING), channel(site, POST_STAGING)
    path, dist = build(tmp_path)
    for kind, method, where in (("drop", "POST", "^/stage/"), ("5xx", "POST", "^/_storage/"),
                                ("drop_after", "POST", "^/commit/")):
        faults.plan(kind, method=method, path=where)
    staging.upload(path, dist)
    assert faults.pending() == 0

    faults.plan("conflict", path="^/copy/")  # a 409 for a file that is not there
    staging.copy_to(quarantine, [dist], labels={"main"})
    assert quarantine.info(dist) is not None
    quarantine.remove(dist)

    faults.plan("drop", method="POST", path="^/copy/")
    faults.plan("drop_after", method="POST", path="^/copy/")  # done, answer lost: then 409
    faults.plan("stall", method="GET", path="^/dist/")  # past the read timeout
    faults.plan("5xx", method="GET", path="^/dist/")
    faults.plan("busy", method="GET", path="^/dist/")  # 429: waits as Retry-After says
    staging.copy_to(quarantine, [dist], labels={"main"})
    held = quarantine.info(dist)
    assert held is not None and held.hashes == hash_file(path)
    assert faults.pending() == 0

    faults.plan("drop_after", method="DELETE", path="^/dist/")
    quarantine.remove(dist)
    assert quarantine.info(dist) is None

    faults.plan("drop", path="^/download/", times=1)
    faults.plan("5xx", path="^/_storage/blob/", times=1)
    staging.download(dist, tmp_path / "again.conda")
    assert hash_file(tmp_path / "again.conda") == hash_file(path)

    faults.plan("5xx", method="GET", path="^/dist/", times=FAST.attempts)
    before = len(site.server.entries())
    with pytest.raises(ApiError, match="HTTP 503 after 4 tries"):
        staging.info(dist)
    assert len(site.server.entries()) - before == FAST.attempts
    assert dict(faults.injected) == {"drop": 3, "5xx": 3 + FAST.attempts, "drop_after": 3,
                                     "conflict": 1, "stall": 1, "busy": 1}

    secret = site.tokens[STAGING]
    assert scan([secret, *site.tokens.values()], trees=[tmp_path],
                texts=[caplog.text, repr(staging), repr(staging.api)]) == []
    assert "retrying" in caplog.text


def test_refusals_are_not_retried(site: Site, tmp_path: Path) -> None:
    path, dist = build(tmp_path)
    wrong = AnacondaChannel(AnacondaApi(site.server.url, Secret(site.tokens[STAGING]),
                                        policy=FAST), PROD)
    with pytest.raises(ApiError, match="HTTP 403") as refused:
        wrong.upload(path, dist)
    assert site.tokens[STAGING] not in str(refused.value)
    assert sum(e.status == 403 for e in site.server.entries()) == 1
    bad = AnacondaChannel(AnacondaApi(site.server.url, Secret("nope"), policy=FAST), STAGING)
    with pytest.raises(ApiError, match="HTTP 401"):
        bad.info(dist)


def test_listing_with_upload_times(site: Site, tmp_path: Path) -> None:
    staging = channel(site, STAGING)
    path, dist = build(tmp_path)
    staging.upload(path, dist, labels=("main", "rc"))
    site.server.model.backdate(STAGING, dist.key, 3 * 3600)
    (stored,) = list(staging.stored())
    assert stored.dist == dist and stored.labels == {"main", "rc"}
    assert abs(site.server.model.now() - stored.uploaded_at - 3 * 3600) < 5
    assert parse_time("2020-04-13 15:54:07.123000+00:00") == 1586793247.123
    assert parse_time("2020-04-13T15:54:07Z") == 1586793247.0


def test_copy_to_and_from_other_kinds_of_channel(site: Site, tmp_path: Path) -> None:
    staging = channel(site, STAGING)
    local = LocalChannel(tmp_path / "local")
    path, dist = build(tmp_path)
    staging.upload(path, dist)
    staging.copy_to(local, [dist], labels={"main"})
    assert local.info(dist) is not None
    second, other = build(tmp_path, name="pkgd")
    local.upload(second, other)
    local.copy_to(channel(site, PROD), [other], labels={"main"})
    seen = binstar(site.server, None).distribution(PROD, "pkgd", "1.0",
                                                   urllib.parse.quote(other.key, safe=""))
    assert seen["sha256"] == hashlib.sha256(second.read_bytes()).hexdigest()
    with pytest.raises(errors.Conflict):  # and anaconda upload agrees the name is taken
        anaconda_upload(site.server, site.tokens[PROD], [second], owner=PROD)
