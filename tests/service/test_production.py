"""Production mode end to end: `migrator outputs serve --forge github --channel-server URL
--state DIR` as its own process, with the token and outputs registries on the stand-in
GitHub (read through its API, written over git), the three channels on the stand-in
anaconda.org, and credentials only in its environment. A copy request is sent exactly
as conda-forge-ci-setup's `request_copy` sends it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import requests
from binstar_client import errors

from migrator.core.git import git
from migrator.core.secret import Secret
from migrator.forges.github import GithubForge
from migrator.registries.outputs_writer import register_outputs
from migrator.registries.token_hashing import hash_token
from migrator.registries.token_registry import Change, RegistryWriter
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
from testing.github_server import GithubServer
from testing.github_server.fixtures import token_forge
from testing.leakscan import scan
from testing.seed import create_forge

ROOT = Path(__file__).resolve().parents[2]
FEEDSTOCK, OTHER = "pkg00000", "pkg00001"


class World(NamedTuple):
    github: GithubServer
    forge_root: Path  # the git directories the stand-in GitHub serves


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """Two feedstocks on the stand-in GitHub; pkg00000's token registered (hash in
    feedstock-tokens, the plain token only in its Actions secret) and each feedstock's
    package name registered to it in feedstock-outputs, all through the GitHub forge."""
    from migrator.forges.local import LocalForge

    root = tmp_path / "forge"
    create_forge(root, count=2, corpus_share=0, workers=1)  # no forks once threads run
    server = GithubServer().start()
    try:
        server.model.import_local(LocalForge(root))
        admin = token_forge(server)
        provision(admin, tmp_path / "admin")
        yield World(server, root)
    finally:
        server.stop()
    assert server.checker.violations == [], "\n".join(server.checker.violations[:20])


def provision(forge: GithubForge, workdir: Path) -> None:
    workdir.mkdir()
    token = Secret.new_token()
    writer = RegistryWriter(forge, workdir)
    writer.stage(Change(f"{FEEDSTOCK}-feedstock", add=(hash_token(token,
                                                                  provider="github_actions"),)))
    assert writer.flush(secrets=[token]) == {}
    writer.close()
    repo = next(r for r in forge.list_feedstocks() if r.name == f"{FEEDSTOCK}-feedstock")
    forge.write_repo_secret(repo, "FEEDSTOCK_TOKEN", token)
    registered = register_outputs(forge, {FEEDSTOCK: [FEEDSTOCK], OTHER: [OTHER]},
                                  workdir=workdir / "outputs")
    assert all(r.ok for r in registered.values())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Service(NamedTuple):
    process: subprocess.Popen[str]
    url: str
    log: Path
    login: str  # who GitHub says comments


@pytest.fixture(params=["app", "token"])
def service(request: pytest.FixtureRequest, world: World, site: Site, tmp_path: Path
            ) -> Iterator[Service]:
    """The service process, its credentials in its environment alone: a GitHub App's
    installation (GITHUB_APP_*) or a GITHUB_TOKEN, and one anaconda.org token per
    channel (*_BINSTAR_TOKEN)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GITHUB_", "FEEDSTOCK_")) and not k.endswith("BINSTAR_TOKEN")}
    github = world.github
    if request.param == "app":
        env.update(github.app_env())
    else:
        env.update(GITHUB_TOKEN=github.admin_token, GITHUB_API_URL=github.api_url,
                   GITHUB_SERVER_URL=github.url)
    env.update(**site.environ(), MIGRATOR_ORG="conda-forge", PYTHONPATH=str(ROOT))
    log = tmp_path / "service.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "migrator", "outputs", "serve", "--forge", "github",
             "--channel-server", site.server.url, "--state", str(tmp_path / "state"),
             "--port", str(port)], cwd=tmp_path, env=env, stdout=out,
            stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_alive(process, url, log)
        yield Service(process, url, log,
                      "migrator[bot]" if request.param == "app" else "admin")
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_alive(process: subprocess.Popen[str], url: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the service exited: {log.read_text()[-3000:]}")
        try:
            if requests.get(f"{url}/alive", timeout=2).json() == {"status": "operational"}:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise AssertionError("the service did not answer /alive within 60 s")


def request_copy(url: str, token: str, feedstock: str, outputs: dict[str, str],
                 git_sha: str) -> requests.Response:
    """What conda-forge-ci-setup's `request_copy` sends (`CI` is the provider)."""
    json_data: dict[str, Any] = {
        "feedstock": feedstock, "outputs": outputs, "channel": "main",
        "comment_on_error": True, "hash_type": "sha256", "provider": "github_actions"}
    json_data["git_sha"] = git_sha
    return requests.post(f"{url}/feedstock-outputs/copy", headers={"FEEDSTOCK_TOKEN": token},
                         json=json_data, timeout=120)


def ci_stage(site: Site, folder: Path, name: str, version: str) -> tuple[str, str]:
    """Build and upload to cf-staging as CI does; (the output key, its sha256)."""
    path = build_package(folder, name=name, version=version)
    anaconda_upload(site.server, site.tokens[STAGING], [path], owner=STAGING)
    from migrator.channels.base import hash_file

    return f"noarch/{path.name}", hash_file(path).sha256


def head(world: World, repo: str) -> str:
    return git("rev-parse", "main", cwd=world.forge_root / "git" / f"{repo}.git").strip()


def comments_through_api(world: World, repo: str, sha: str) -> list[dict[str, Any]]:
    answer = requests.get(
        f"{world.github.api_url}/repos/conda-forge/{repo}/commits/{sha}/comments",
        headers={"Authorization": f"token {world.github.admin_token}",
                 "Accept": "application/vnd.github+json"}, timeout=30)
    answer.raise_for_status()
    found: list[dict[str, Any]] = answer.json()
    return found


def cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def test_production_mode_end_to_end(world: World, site: Site, service: Service,
                                    tmp_path: Path) -> None:
    repo = f"{FEEDSTOCK}-feedstock"
    token = world.github.model.secret_value(repo, "FEEDSTOCK_TOKEN")  # what CI is given
    assert token
    sha = head(world, repo)
    key, sha256 = ci_stage(site, tmp_path / "ok", FEEDSTOCK, "2.0.0")
    mark = len(world.github.entries())

    answer = request_copy(service.url, token, repo, {key: sha256}, sha)

    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["copied"], report["errors"]) == ({key: True}, [])
    seen = binstar(site.server, None)
    basename = urllib.parse.quote(key, safe="")
    published = seen.distribution(PROD, FEEDSTOCK, "2.0.0", basename)
    assert (published["sha256"], published["labels"]) == (sha256, ["main"])
    for owner in (STAGING, POST_STAGING):
        with pytest.raises(errors.NotFound):
            seen.distribution(owner, FEEDSTOCK, "2.0.0", basename)
    # the token entry was read through GitHub's API (contents), the outputs registry
    # over git (the service keeps a clone of it); nothing was written to either
    calls = [(e.method, e.path) for e in world.github.entries()[mark:]
             if e.path != "/app/installations/31337/access_tokens"]  # the App's token
    contents = "/repos/conda-forge/{}/contents/{}".format
    outputs_git = "/conda-forge/feedstock-outputs.git/"
    assert calls[0] == ("GET", contents("feedstock-tokens", f"tokens/{repo}.json"))
    assert calls[1:] and set(calls[1:]) == {
        ("GET", outputs_git + "info/refs"), ("POST", outputs_git + "git-upload-pack")}
    assert comments_through_api(world, repo, sha) == []

    # not the owner: pkg00001's package, asked for by pkg00000 three times (CI retries)
    taken, taken_sha = ci_stage(site, tmp_path / "taken", OTHER, "1.0.0")
    for _ in range(3):
        refused = request_copy(service.url, token, repo, {taken: taken_sha}, sha)
        assert refused.status_code == 403
        assert refused.json()["results"][taken]["result"] == "not_owner"
    comments = comments_through_api(world, repo, sha)
    assert len(comments) == 1, comments
    assert taken in comments[0]["body"] and f"{OTHER}-feedstock" in comments[0]["body"]
    assert comments[0]["user"]["login"] == service.login
    stored = world.github.model.repo(repo)
    assert stored is not None and [c["commit_id"] for c in stored.comments] == [sha]
    with pytest.raises(errors.NotFound):
        seen.distribution(PROD, OTHER, "1.0.0", urllib.parse.quote(taken, safe=""))

    checked = world.github.checker.checked
    assert checked["requests"] > 0 and checked["responses"] > 0
    assert world.github.checker.violations == []

    # credentials: only in the service's environment; never in its arguments, its state,
    # its log, or anything served
    args = cmdline(service.process.pid)
    secrets = [token, *site.tokens.values(), world.github.admin_token,
               world.github.model.app.private_pem.splitlines()[1]]
    service.process.send_signal(signal.SIGTERM)
    service.process.wait(timeout=30)
    assert service.process.returncode == 0
    issued = list(world.github.model.tokens)  # the installation tokens the App was given
    texts = [args, service.log.read_text(),
             *(f"{e.method} {e.path}" for e in world.github.entries()),
             *(f"{e.method} {e.path}" for e in site.server.entries(None))]
    assert scan([*secrets, *issued], trees=[tmp_path / "state", world.forge_root],
                texts=texts) == []
    assert "serving the validation service on" in service.log.read_text()
