"""Every bad request is refused with its own result, and production does not change by
a single byte."""

from __future__ import annotations

import hashlib
import json
import tarfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from migrator.channels.dists import parse_dist
from migrator.core.secret import Secret
from migrator.service.server import start_server
from migrator.service.webapp import create_app
from testing.build_package import build_package
from testing.outputs_support import (
    OutputsEnv,
    body,
    build_env,
    commit_files,
    listed,
    provision_token,
    stage,
    tar_bz2,
    tree_digest,
)

Case = Callable[[OutputsEnv, Path], tuple[Any, str | None]]  # -> (body, token)


@pytest.fixture(name="env")
def env_with_a_published_package(tmp_path: Path) -> OutputsEnv:
    """A forge whose production already holds one package, so 'unchanged' means something."""
    env = build_env(tmp_path)
    dist, sha = stage(env.service, tmp_path, name="pkg00000", version="0.9.0")
    assert env.service.copy(body("pkg00000", {dist.key: sha}), env.token).ok
    return env


def _staged(env: OutputsEnv, tmp: Path, **kwargs: Any) -> tuple[str, str]:
    dist, sha = stage(env.service, tmp, **kwargs)
    return dist.key, sha


def wrong_token(env: OutputsEnv, tmp: Path) -> tuple[Any, str | None]:
    key, sha = _staged(env, tmp, name="pkg00000")
    return body("pkg00000", {key: sha}), Secret.new_token().reveal()


def no_token(env: OutputsEnv, tmp: Path) -> tuple[Any, str | None]:
    key, sha = _staged(env, tmp, name="pkg00000")
    return body("pkg00000", {key: sha}), None


def expired_token(env: OutputsEnv, tmp: Path) -> tuple[Any, str | None]:
    token, _ = provision_token(env.forge, "pkg00000", tmp, expires_at=time.time() - 60)
    key, sha = _staged(env, tmp, name="pkg00000")
    return body("pkg00000", {key: sha}), token.reveal()


def other_provider(env: OutputsEnv, tmp: Path) -> tuple[Any, str | None]:
    token, _ = provision_token(env.forge, "pkg00000", tmp, provider="azure")
    key, sha = _staged(env, tmp, name="pkg00000")
    return body("pkg00000", {key: sha}, provider="github_actions"), token.reveal()


def another_feedstocks_token(env: OutputsEnv, tmp: Path) -> tuple[Any, str | None]:
    key, sha = _staged(env, tmp, name="pkg00000")
    return body("pkg00000", {key: sha}), env.other_token.reveal()


def name_of_another_feedstock(env: OutputsEnv, tmp: Path) -> tuple[Any, str | None]:
    key, sha = _staged(env, tmp, name="libpkg00001")
    return body("pkg00000", {key: sha}), env.token.reveal()


def unregistered_name(env: OutputsEnv, tmp: Path) -> tuple[Any, str | None]:
    key, sha = _staged(env, tmp, name="nobody-owns-this")
    return body("pkg00000", {key: sha}), env.token.reveal()


def wrong_hash(env: OutputsEnv, tmp: Path) -> tuple[Any, str | None]:
    key, sha = _staged(env, tmp, name="pkg00000")
    return body("pkg00000", {key: sha[::-1]}), env.token.reveal()


def wrong_md5(env: OutputsEnv, tmp: Path) -> tuple[Any, str | None]:
    key, _ = _staged(env, tmp, name="pkg00000")
    return body("pkg00000", {key: "0" * 32}, hash_type="md5"), env.token.reveal()


def missing_file(env: OutputsEnv, tmp: Path) -> tuple[Any, str | None]:
    return body("pkg00000", {"noarch/pkg00000-3.0-0.conda": "1" * 64}), env.token.reveal()


def other_label(env: OutputsEnv, tmp: Path) -> tuple[Any, str | None]:
    key, sha = _staged(env, tmp, name="pkg00000", labels=["rc"])
    return body("pkg00000", {key: sha}), env.token.reveal()


def index_disagrees(env: OutputsEnv, tmp: Path) -> tuple[Any, str | None]:
    key, sha = _staged(env, tmp, name="pkg00000", index_overrides={"name": "libpkg00001"})
    return body("pkg00000", {key: sha}), env.token.reveal()


def subdir_disagrees(env: OutputsEnv, tmp: Path) -> tuple[Any, str | None]:
    key, sha = _staged(env, tmp, name="pkg00000", index_overrides={"subdir": "linux-64"})
    return body("pkg00000", {key: sha}), env.token.reveal()


def _crafted(env: OutputsEnv, tmp: Path, members: list[tuple[Any, ...]]) -> tuple[str, str]:
    index = {"name": "pkg00000", "version": "6.6.6", "build": "0", "build_number": 0,
             "subdir": "noarch", "depends": []}
    path = tar_bz2(tmp / "pkg00000-6.6.6-0.tar.bz2", index, members)
    dist = parse_dist(f"noarch/{path.name}")
    env.service.channels.staging.upload(path, dist)
    return dist.key, hashlib.sha256(path.read_bytes()).hexdigest()


def dotdot_member(env: OutputsEnv, tmp: Path) -> tuple[Any, str | None]:
    key, sha = _crafted(env, tmp, [("lib/ok", b"x"), ("../../etc/cron.d/evil", b"x")])
    return body("pkg00000", {key: sha}), env.token.reveal()


def absolute_member(env: OutputsEnv, tmp: Path) -> tuple[Any, str | None]:
    key, sha = _crafted(env, tmp, [("/usr/bin/evil", b"x")])
    return body("pkg00000", {key: sha}), env.token.reveal()


def escaping_symlink(env: OutputsEnv, tmp: Path) -> tuple[Any, str | None]:
    key, sha = _crafted(env, tmp, [("bin/x", b"", tarfile.SYMTYPE, "../../../../etc/passwd")])
    return body("pkg00000", {key: sha}), env.token.reveal()


def not_a_package(env: OutputsEnv, tmp: Path) -> tuple[Any, str | None]:
    path = tmp / "pkg00000-7.0-0.conda"
    path.write_bytes(b"PK\x03\x04 this is not a zip file")
    dist = parse_dist(f"noarch/{path.name}")
    env.service.channels.staging.upload(path, dist)
    return body("pkg00000", {dist.key: hashlib.sha256(path.read_bytes()).hexdigest()}), \
        env.token.reveal()


def overwrite(env: OutputsEnv, tmp: Path) -> tuple[Any, str | None]:
    # production has pkg00000-0.9.0-0.conda; CI built different bytes under that name
    path = build_package(tmp / "again", name="pkg00000", version="0.9.0",
                         files={"share/changed": b"different bytes"})
    dist = parse_dist(f"noarch/{path.name}")
    env.service.channels.staging.upload(path, dist)
    return body("pkg00000", {dist.key: hashlib.sha256(path.read_bytes()).hexdigest()}), \
        env.token.reveal()


CASES: dict[str, tuple[Case, str, int]] = {
    "wrong token": (wrong_token, "auth_failed", 403),
    "no token": (no_token, "auth_failed", 403),
    "expired token": (expired_token, "auth_failed", 403),
    "token of another provider": (other_provider, "provider_mismatch", 403),
    "another feedstock's token": (another_feedstocks_token, "auth_failed", 403),
    "a name another feedstock owns": (name_of_another_feedstock, "not_owner", 403),
    "a name nobody registered": (unregistered_name, "not_owner", 403),
    "wrong sha256": (wrong_hash, "hash_mismatch", 403),
    "wrong md5": (wrong_md5, "hash_mismatch", 403),
    "file not on staging": (missing_file, "staging_missing", 503),
    "file without the label": (other_label, "label_mismatch", 403),
    "index.json names another package": (index_disagrees, "bad_package", 403),
    "index.json names another subdir": (subdir_disagrees, "bad_package", 403),
    "archive member with ..": (dotdot_member, "bad_package", 403),
    "archive member with an absolute path": (absolute_member, "bad_package", 403),
    "symlink out of the prefix": (escaping_symlink, "bad_package", 403),
    "not a package at all": (not_a_package, "bad_package", 403),
    "overwrite with other bytes": (overwrite, "conflict", 403),
}


@pytest.mark.parametrize("case", list(CASES))
def test_refused_and_production_unchanged(env: OutputsEnv, tmp_path: Path, case: str) -> None:
    make, kind, status = CASES[case]
    payload, token = make(env, tmp_path)
    before = tree_digest(env.production.root)
    client = create_app(env.service, executor=_no_jobs()).test_client()
    headers = {} if token is None else {"FEEDSTOCK_TOKEN": token}
    response = client.post("/feedstock-outputs/copy", json=payload, headers=headers)
    report = response.get_json()
    assert response.status_code == status
    assert [r["result"] for r in report["results"].values()] == [kind]
    assert report["copied"] == {key: False for key in payload["outputs"]}
    assert report["errors"] and all(isinstance(e, str) for e in report["errors"])
    assert tree_digest(env.production.root) == before
    terminal = kind != "staging_missing"
    assert [r["terminal"] for r in report["results"].values()] == [terminal]


MALFORMED: dict[str, object] = {
    "not JSON": b"{'feedstock': 'pkg00000'",
    "a list": [1, 2],
    "no outputs": {"feedstock": "pkg00000-feedstock", "channel": "main"},
    "empty outputs": {"feedstock": "pkg00000-feedstock", "outputs": {}},
    "no feedstock": {"outputs": {"noarch/pkg00000-1-0.conda": "1" * 64}},
    "path traversal": {"feedstock": "pkg00000-feedstock", "hash_type": "sha256",
                       "outputs": {"noarch/../../x-1-0.conda": "1" * 64}},
    "three parts": {"feedstock": "pkg00000-feedstock", "hash_type": "sha256",
                    "outputs": {"a/noarch/pkg00000-1-0.conda": "1" * 64}},
    "not a package name": {"feedstock": "pkg00000-feedstock", "hash_type": "sha256",
                           "outputs": {"noarch/pkg00000.exe": "1" * 64}},
    "short hash": {"feedstock": "pkg00000-feedstock", "hash_type": "sha256",
                   "outputs": {"noarch/pkg00000-1-0.conda": "abc"}},
    "unknown hash type": {"feedstock": "pkg00000-feedstock", "hash_type": "sha1",
                          "outputs": {"noarch/pkg00000-1-0.conda": "1" * 40}},
    "bad label": {"feedstock": "pkg00000-feedstock", "channel": "../main",
                  "outputs": {"noarch/pkg00000-1-0.conda": "1" * 32}},
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_body_is_a_bad_request(env: OutputsEnv, case: str) -> None:
    before = tree_digest(env.production.root)
    journalled = set(env.service.journal.active.iterdir())
    payload = MALFORMED[case]
    client = create_app(env.service, executor=_no_jobs()).test_client()
    data = payload if isinstance(payload, bytes) else None
    response = client.post("/feedstock-outputs/copy", data=data,
                           json=None if data else payload,
                           headers={"FEEDSTOCK_TOKEN": env.token.reveal(),
                                    "Content-Type": "application/json"})
    report = response.get_json()
    assert response.status_code == 400
    assert report["error"]["result"] == "bad_request" and report["errors"]
    assert tree_digest(env.production.root) == before
    assert set(env.service.journal.active.iterdir()) == journalled


def test_one_comment_lists_every_output(env: OutputsEnv, tmp_path: Path) -> None:
    good = _staged(env, tmp_path, name="pkg00000", version="1.1")
    stolen = _staged(env, tmp_path, name="libpkg00001", version="1.1")
    sha = commit_files(env.forge, "pkg00000-feedstock", {"README.md": "bump\n"}, tmp_path)
    report = env.service.copy(body("pkg00000", dict([good, stolen]), git_sha=sha), env.token)
    assert report.status_code == 403
    comments = env.forge.comments("pkg00000-feedstock")
    assert len(comments) == 1 and comments[0]["sha"] == sha
    text = comments[0]["body"]
    assert f"- `{good[0]}`\n" in text
    assert (f"- `{stolen[0]}`: the package name libpkg00001 is registered to "
            "pkg00001-feedstock. To fix: " in text)
    assert report.request_id is not None and report.request_id in text
    assert listed(env.production) >= {good[0].split("/")[1]}
    # requests that ask for silence, or name no commit, comment nothing
    env.service.copy(body("pkg00000", dict([stolen]), git_sha=sha, comment_on_error=False),
                     env.token)
    env.service.copy(body("pkg00000", dict([stolen]), git_sha=None), env.token)
    assert len(env.forge.comments("pkg00000-feedstock")) == 1
    # an invalid token is told, once
    env.service.copy(body("pkg00000", dict([stolen]), git_sha=sha), Secret.new_token())
    comments = env.forge.comments("pkg00000-feedstock")
    assert len(comments) == 2 and "not a valid token of pkg00000-feedstock" in comments[1]["body"]


def test_underscore_header_reaches_the_app_over_real_http(env: OutputsEnv,
                                                         tmp_path: Path) -> None:
    key, sha = _staged(env, tmp_path, name="pkg00000", version="5.0")
    with start_server(env.service) as server:
        req = urllib.request.Request(
            f"{server.url}/feedstock-outputs/copy", method="POST",
            data=json.dumps(body("pkg00000", {key: sha})).encode(),
            headers={"FEEDSTOCK_TOKEN": env.token.reveal()})
        with urllib.request.urlopen(req) as response:
            assert response.status == 200


class _no_jobs:
    def submit(self, *args: Any, **kwargs: Any) -> None:
        raise AssertionError("the synchronous route must not queue jobs")
