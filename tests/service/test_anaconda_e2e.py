"""The service on anaconda.org channels (the stand-in server), registries on a local
forge: a copy request exactly as CI sends it, the admin labels, and the staging sweep,
checked with the real anaconda-client and a conda solver."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from binstar_client import errors

from migrator import cli
from migrator.channels.anaconda_http import RetryPolicy
from migrator.service.anaconda_setup import anaconda_service
from migrator.service.core import Service
from migrator.service.request import parse_request
from migrator.service.server import start_server
from migrator.service.sweep import sweep
from testing.anaconda_server.client import anaconda_upload, binstar
from testing.anaconda_server.fixtures import (  # noqa: F401 (fixtures)
    POST_STAGING,
    PROD,
    STAGING,
    Site,
    make_site_fixture,
    site_fixture,
)
from testing.build_package import build_package
from testing.outputs_support import OutputsEnv, build_env, leaks, solve, stage

FAST = RetryPolicy(attempts=4, backoff=0.01, max_backoff=0.05, read_timeout=5.0)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> OutputsEnv:
    """A provisioned local forge (tokens and outputs registries), shared by these tests:
    they write only to their own channels and service state."""
    return build_env(tmp_path_factory.mktemp("anaconda-e2e"))


@pytest.fixture
def service(env: OutputsEnv, site: Site, tmp_path: Path) -> Service:
    return anaconda_service(env.forge, state_dir=tmp_path / "state",
                            base_url=site.server.url, environ=site.environ(), policy=FAST,
                            lock_timeout=30)


@pytest.fixture
def tokens_in_env(site: Site, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in site.environ().items():
        monkeypatch.setenv(name, value)
    yield


def quoted(key: str) -> str:
    return urllib.parse.quote(key, safe="")


def post(url: str, payload: Any, token: str) -> tuple[int, dict[str, Any]]:
    req = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                 headers={"Content-Type": "application/json",
                                          "FEEDSTOCK_TOKEN": token})
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def ci_upload(site: Site, folder: Path, name: str, version: str, owner: str = STAGING,
              **kwargs: Any) -> tuple[str, str]:
    """Build a package and upload it as CI does; (its key, its sha256)."""
    path = build_package(folder, name=name, version=version, **kwargs)
    anaconda_upload(site.server, site.tokens[owner], [path], owner=owner)
    return f"noarch/{path.name}", hashlib.sha256(path.read_bytes()).hexdigest()


def test_ci_copy_request_lands_in_conda_forge(env: OutputsEnv, site: Site, service: Service,
                                              tmp_path: Path,
                                              caplog: pytest.LogCaptureFixture,
                                              capfd: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)
    token = env.forge.ci_secrets(env.forge.repo("pkg00000-feedstock"))["FEEDSTOCK_TOKEN"]
    key, sha = ci_upload(site, tmp_path / "a", "pkg00000", "2.1.0")
    taken, _ = ci_upload(site, tmp_path / "b", "pkg00000", "3.0.0")
    ci_upload(site, tmp_path / "c", "pkg00000", "3.0.0", owner=PROD, depends=["other"])
    body = {"feedstock": "pkg00000-feedstock", "outputs": {key: sha}, "channel": "main",
            "git_sha": "b" * 40, "hash_type": "sha256", "provider": "github_actions",
            "comment_on_error": True}

    with start_server(service) as server:
        status, report = post(f"{server.url}/feedstock-outputs/copy", body, token)
        staged = binstar(site.server, None).distribution(STAGING, "pkg00000", "3.0.0",
                                                         quoted(taken))
        conflict_status, conflict = post(
            f"{server.url}/feedstock-outputs/copy",
            {**body, "outputs": {taken: staged["sha256"]}, "comment_on_error": False}, token)

    assert (status, report["copied"], report["errors"]) == (200, {key: True}, [])
    assert report["results"][key]["result"] == "copied"
    seen = binstar(site.server, None)
    published = seen.distribution(PROD, "pkg00000", "2.1.0", quoted(key))
    assert (published["sha256"], published["labels"]) == (sha, ["main"])
    for owner in (STAGING, POST_STAGING):
        with pytest.raises(errors.NotFound):
            seen.distribution(owner, "pkg00000", "2.1.0", quoted(key))
    # the copies went through anaconda.org, each with the token of the owner copied to
    ci_upload_calls = ("/release/", "/stage/", "/commit/")
    writes = [(e.method, e.path.split("/")[1:4], e.login) for e in site.server.entries()
              if e.method != "GET" and "2.1.0" in e.path
              and not e.path.startswith(ci_upload_calls)]
    assert writes == [
        ("DELETE", ["dist", POST_STAGING, "pkg00000"], "cf-post-staging-bot"),  # stale copy
        ("POST", ["copy", "package", STAGING], "cf-post-staging-bot"),
        ("POST", ["copy", "package", POST_STAGING], "conda-forge-bot"),
        ("DELETE", ["dist", POST_STAGING, "pkg00000"], "cf-post-staging-bot"),
        ("DELETE", ["dist", STAGING, "pkg00000"], "cf-staging-bot")]

    # other bytes under a name production has: a conflict, never an overwrite
    assert conflict_status == 403
    assert conflict["results"][taken]["result"] == "conflict"
    kept = seen.distribution(PROD, "pkg00000", "3.0.0", quoted(taken))
    assert kept["sha256"] != staged["sha256"]

    solved = solve(site.server.conda_url(PROD), ["pkg00000 ==2.1.0"])
    assert [(r["name"], r["version"], r["sha256"]) for r in solved] == [
        ("pkg00000", "2.1.0", sha)]
    out, err = capfd.readouterr()
    secrets = [token, *site.tokens.values()]
    assert leaks(secrets, [env.root, tmp_path], [caplog.text, out, err]) == []


def run(argv: list[str], env: OutputsEnv, tmp_path: Path, site: Site) -> int:
    return cli.main(["outputs", *argv, "--forge", str(env.forge.root),
                     "--state", str(tmp_path / "state"), "--channel-server", site.server.url])


def test_mark_broken_and_back_on_anaconda(env: OutputsEnv, site: Site, tmp_path: Path,
                                          tokens_in_env: None,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    key, _ = ci_upload(site, tmp_path, "pkg00001", "1.0.0", owner=PROD)
    seen = binstar(site.server, None)
    assert run(["mark-broken", key], env, tmp_path, site) == 0
    assert seen.distribution(PROD, "pkg00001", "1.0.0", quoted(key))["labels"] == ["broken"]
    assert f"{key}: labels now broken on conda-forge" in capsys.readouterr().out
    main = json.loads(urllib.request.urlopen(
        f"{site.server.conda_url(PROD)}/noarch/repodata.json").read())
    broken = json.loads(urllib.request.urlopen(
        f"{site.server.conda_url(PROD, 'broken')}/noarch/repodata.json").read())
    assert main["packages.conda"] == {} and list(broken["packages.conda"]) == [
        key.split("/")[1]]

    assert run(["unmark-broken", key], env, tmp_path, site) == 0
    assert seen.distribution(PROD, "pkg00001", "1.0.0", quoted(key))["labels"] == ["main"]

    capsys.readouterr()
    assert run(["mark-broken", "noarch/missing-1-0.conda"], env, tmp_path, site) == 2
    assert run(["reindex", "--channel", "cf-nowhere"], env, tmp_path, site) == 2
    errs = capsys.readouterr().err.splitlines()
    assert errs == ["migrator: error: noarch/missing-1-0.conda is not on conda-forge",
                    "migrator: error: unknown channel 'cf-nowhere': the channels are "
                    "cf-staging, cf-post-staging, conda-forge"]


def test_missing_token_is_one_line(env: OutputsEnv, site: Site, tmp_path: Path,
                                   tokens_in_env: None, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("POST_STAGING_BINSTAR_TOKEN")
    assert run(["sweep"], env, tmp_path, site) == 2
    assert capsys.readouterr().err.splitlines() == [
        "migrator: error: set POST_STAGING_BINSTAR_TOKEN in the environment: the anaconda.org "
        "token for cf-post-staging"]


def test_sweep_on_anaconda(env: OutputsEnv, site: Site, service: Service, tmp_path: Path,
                           tokens_in_env: None, capsys: pytest.CaptureFixture[str],
                           caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    old, _ = ci_upload(site, tmp_path / "old", "pkg00000", "1.0.1")
    fresh, _ = ci_upload(site, tmp_path / "fresh", "pkg00000", "1.0.2")
    held, held_sha = ci_upload(site, tmp_path / "held", "pkg00000", "1.0.3")
    stuck, _ = ci_upload(site, tmp_path / "stuck", "pkg00000", "1.0.4", owner=POST_STAGING)
    shipped, _ = ci_upload(site, tmp_path / "shipped", "pkg00000", "1.0.5", owner=PROD)
    for owner, key in ((STAGING, old), (STAGING, held), (POST_STAGING, stuck),
                       (PROD, shipped)):
        site.server.model.backdate(owner, key, 3 * 3600)
    # a request still open for `held` (received, not finished) keeps it
    service.journal.create(parse_request({"feedstock": "pkg00000-feedstock",
                                          "outputs": {held: held_sha}, "hash_type": "sha256",
                                          "channel": "main"}))

    assert run(["sweep", "--max", "10"], env, tmp_path, site) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"removed {STAGING}:{old} (3.0 h old)",
                   f"removed {POST_STAGING}:{stuck} (3.0 h old)",
                   f"kept {STAGING}:{held}: an open request names it",
                   "swept 2 file(s)"]
    assert f"swept {old} from {STAGING}" in caplog.text
    seen = binstar(site.server, None)
    remaining = {f["basename"] for f in seen.show_channel("main", STAGING)["files"]}
    assert remaining == {fresh, held}
    assert seen.show_channel("main", POST_STAGING)["files"] == []
    assert [f["basename"] for f in seen.show_channel("main", PROD)["files"]] == [shipped]

    for version in ("1.0.6", "1.0.7"):
        key, _ = ci_upload(site, tmp_path / version, "pkg00000", version)
        site.server.model.backdate(STAGING, key, 5 * 3600)
    assert run(["sweep", "--max", "1", "--only", STAGING], env, tmp_path, site) == 0
    assert capsys.readouterr().out.splitlines()[-1] == \
        "swept 1 file(s); more remain (--max reached)"
    assert run(["sweep", "--only", PROD], env, tmp_path, site) == 2
    assert run(["sweep", "--only", "cf-elsewhere"], env, tmp_path, site) == 2
    assert capsys.readouterr().err.splitlines() == [
        "migrator: error: conda-forge is production: it is never swept",
        "migrator: error: unknown channel 'cf-elsewhere': the channels are cf-staging, "
        "cf-post-staging, conda-forge"]


def test_sweep_on_local_channels(env: OutputsEnv, tmp_path: Path) -> None:
    local = env.service
    old, _ = stage(local, tmp_path, name="pkg00000", version="1.0.1")
    fresh, _ = stage(local, tmp_path, name="pkg00000", version="1.0.2")
    then = time.time() - 3 * 3600
    os.utime(env.staging.path(old), (then, then))
    report = sweep([local.channels.staging, local.channels.quarantine],
                   journal=local.journal, locks=local.state_dir / "locks")
    assert [(r.channel, r.key) for r in report.removed] == [("cf-staging", old.key)]
    assert env.staging.info(old) is None and env.staging.info(fresh) is not None
