"""A file whose name differs only in case from one production publishes, or from another
file of the same request, is refused before anything is copied, on local channels and
on anaconda.org; production is left byte for byte as it was."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any

import pytest

from migrator.channels.anaconda import AnacondaChannel
from migrator.channels.anaconda_http import AnacondaApi, RetryPolicy
from migrator.channels.anaconda_listing import Listing, conda_url_for
from migrator.channels.dists import Dist, parse_dist
from migrator.core.secret import Secret
from migrator.registries.outputs_writer import register_outputs
from migrator.service import local_setup as layout
from migrator.service.anaconda_setup import anaconda_service
from migrator.service.core import Service
from migrator.service.pipeline import _file_locks
from testing.anaconda_server.client import anaconda_upload, binstar
from testing.anaconda_server.fixtures import (  # noqa: F401 (fixtures)
    PROD,
    STAGING,
    Site,
    make_site_fixture,
    site_fixture,
)
from testing.build_package import build_package
from testing.outputs_support import OutputsEnv, body, build_env, tree_digest

FAST = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.05, read_timeout=5.0)
LOWER, UPPER = "noarch/abess-1.0.0-0.conda", "noarch/ABESS-1.0.0-0.conda"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> OutputsEnv:
    """pkg00000-feedstock may publish `abess` (registered, so `ABESS` too: the registry
    folds case); each test has its own channels and service state."""
    root = tmp_path_factory.mktemp("case")
    built = build_env(root)
    register_outputs(built.forge, {"pkg00000": ["abess"]}, workdir=root / "abess")
    return built


def local_service(env: OutputsEnv, tmp_path: Path) -> Service:
    return layout.local_service(env.forge, forge_root=env.forge.root,
                                channels_root=tmp_path / "channels",
                                state_dir=tmp_path / "state", lock_timeout=10)


def built(folder: Path, key: str) -> tuple[Path, Dist, str]:
    dist = parse_dist(key)
    path = build_package(folder / key.replace("/", "_"), name=dist.name,
                         version=dist.version, build=dist.build)
    return path, dist, hashlib.sha256(path.read_bytes()).hexdigest()


def stage_local(service: Service, folder: Path, key: str) -> str:
    path, dist, sha = built(folder, key)
    service.channels.staging.upload(path, dist)
    return sha


def results(report: Any) -> dict[str, tuple[str, str]]:
    data = report.to_json()["results"]
    return {k: (v["result"], v.get("detail") or "") for k, v in data.items()}


def test_a_name_differing_only_in_case_from_production_is_refused(
        env: OutputsEnv, tmp_path: Path) -> None:
    service = local_service(env, tmp_path)
    path, dist, _ = built(tmp_path, LOWER)
    service.channels.production.upload(path, dist)
    sha = stage_local(service, tmp_path, UPPER)
    before = tree_digest(tmp_path / "channels" / "conda-forge")

    report = service.copy(body("pkg00000", {UPPER: sha}), env.token)

    assert report.status_code == 403
    kind, detail = results(report)[UPPER]
    assert kind == "bad_package"
    assert "ABESS-1.0.0-0.conda differs only in case from abess-1.0.0-0.conda" in detail
    assert tree_digest(tmp_path / "channels" / "conda-forge") == before
    # refused before anything was copied: the staged file stays for its owner to remove
    assert service.channels.staging.info(parse_dist(UPPER)) is not None
    assert service.channels.quarantine.packages("noarch") == []


def test_the_same_name_in_another_case_is_published_when_production_lacks_it(
        env: OutputsEnv, tmp_path: Path) -> None:
    """The control: the refusal above is about the collision, not the upper case."""
    service = local_service(env, tmp_path)
    sha = stage_local(service, tmp_path, UPPER)
    report = service.copy(body("pkg00000", {UPPER: sha}), env.token)
    assert results(report) == {UPPER: ("copied", "")}
    assert service.channels.production.packages("noarch") == ["ABESS-1.0.0-0.conda"]


def test_two_files_of_one_request_differing_only_in_case_are_both_refused(
        env: OutputsEnv, tmp_path: Path) -> None:
    service = local_service(env, tmp_path)
    outputs = {key: stage_local(service, tmp_path, key) for key in (LOWER, UPPER)}
    report = service.copy(body("pkg00000", outputs), env.token)
    found = results(report)
    assert {k: v[0] for k, v in found.items()} == {LOWER: "bad_package", UPPER: "bad_package"}
    assert "differs only in case from ABESS-1.0.0-0.conda" in found[LOWER][1]
    assert service.channels.production.packages("noarch") == []


def test_requests_for_names_differing_only_in_case_take_the_same_lock(
        tmp_path: Path) -> None:
    with _file_locks(tmp_path, [LOWER], timeout=0):
        with pytest.raises(TimeoutError):
            with _file_locks(tmp_path, [UPPER], timeout=0):
                pass


def upload(site: Site, folder: Path, key: str, owner: str, labels: tuple[str, ...] = ("main",)
           ) -> str:
    path, _, sha = built(folder, key)
    anaconda_upload(site.server, site.tokens[owner], [path], owner=owner, labels=labels)
    return sha


def production_files(site: Site) -> list[tuple[str, str, tuple[str, ...]]]:
    seen = binstar(site.server, None)
    return sorted((f["basename"], f["sha256"], tuple(f["labels"]))
                  for label in ("main", "broken")
                  for f in seen.show_channel(label, PROD)["files"])


def test_on_anaconda_org_any_label_of_production_counts(env: OutputsEnv, site: Site,
                                                        tmp_path: Path) -> None:
    """`abess` is only under `broken` in production: its URL still works, so a new
    `ABESS` would still collide with it on a case-insensitive mirror."""
    upload(site, tmp_path / "prod", LOWER, PROD, labels=("broken",))
    sha = upload(site, tmp_path / "staged", UPPER, STAGING)
    service = anaconda_service(env.forge, state_dir=tmp_path / "state",
                               base_url=site.server.url, environ=site.environ(),
                               policy=FAST, lock_timeout=10)
    before, mark = production_files(site), len(site.server.entries())

    report = service.copy(body("pkg00000", {UPPER: sha}), env.token)

    kind, detail = results(report)[UPPER]
    assert (kind, "differs only in case from abess-1.0.0-0.conda" in detail) == (
        "bad_package", True)
    assert production_files(site) == before
    assert [e for e in site.server.entries()[mark:] if e.method != "GET"] == []


def test_the_anaconda_listing_revalidates_and_counts_its_own_writes(site: Site,
                                                                    tmp_path: Path) -> None:
    api = AnacondaApi(site.server.url, Secret(site.tokens[PROD]), policy=FAST)
    now = [0.0]
    listing = Listing(api, PROD, ttl=60.0, clock=lambda: now[0])
    assert listing.names("noarch") == []
    upload(site, tmp_path, LOWER, PROD)
    assert listing.names("noarch") == []  # within the ttl: what was read
    now[0] = 61.0
    assert listing.names("noarch") == ["abess-1.0.0-0.conda"]
    now[0] = 122.0
    assert listing.names("noarch") == ["abess-1.0.0-0.conda"]
    conda = [(e.path, e.status) for e in site.server.entries("conda")]
    assert conda[-1] == (f"/conda/{PROD}/noarch/repodata.json", 304)
    listing.wrote("noarch", "other-1-0.conda")
    assert listing.names("noarch") == ["abess-1.0.0-0.conda", "other-1-0.conda"]
    assert listing.names("linux-64") == []

    # (the site fixture fails the test if a token was sent with the repodata requests)
    channel = AnacondaChannel(api, PROD)
    assert channel.packages("noarch") == ["abess-1.0.0-0.conda"]


def test_where_repodata_is_served() -> None:
    assert conda_url_for("https://api.anaconda.org") == "https://conda.anaconda.org"
    assert conda_url_for("https://api.example.org/") == "https://conda.example.org"
    assert conda_url_for("http://127.0.0.1:8080") == "http://127.0.0.1:8080/conda"


def test_listing_is_safe_from_threads(site: Site, tmp_path: Path) -> None:
    upload(site, tmp_path, LOWER, PROD)
    listing = Listing(AnacondaApi(site.server.url, None, policy=FAST), PROD)
    found: list[list[str]] = []
    threads = [threading.Thread(target=lambda: found.append(listing.names("noarch")))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert found == [["abess-1.0.0-0.conda"]] * 8
