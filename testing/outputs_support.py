"""Shared helpers and fixtures for the outputs tests (import what you use)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from migrator.channels.directory import LocalChannel
from migrator.channels.dists import Dist, parse_dist
from migrator.core.git import git
from migrator.core.secret import Secret
from migrator.forges.local import LocalForge
from migrator.forges.sealing import seal
from migrator.registries import token_file as registry_file
from migrator.registries.outputs_writer import register_outputs
from migrator.registries.token_hashing import Entry, hash_token
from migrator.service import local_setup as layout
from migrator.service.core import Service
from testing.build_package import build_package
from testing.leakscan import scan
from testing.seed import create_forge
from testing.solve import solve as solve_in_child

ROOT = Path(__file__).resolve().parent.parent


def make_forge(root: Path, *, count: int = 3) -> LocalForge:
    """Generated feedstocks pkg00000, pkg00001, ... with the two registry repositories."""
    return create_forge(root, count=count, corpus_share=0, workers=1)


def commit_files(forge: LocalForge, repo: str, files: Mapping[str, str], workdir: Path,
                 message: str = "test change [ci skip]") -> str:
    checkout = workdir / f"{repo}-{time.monotonic_ns()}"
    forge.clone(repo, None, checkout)
    for path, text in files.items():
        (checkout / path).parent.mkdir(parents=True, exist_ok=True)
        (checkout / path).write_text(text)
    git("add", "--all", cwd=checkout)
    git("commit", "--quiet", "-m", message, cwd=checkout)
    branch = git("rev-parse", "--abbrev-ref", "HEAD", cwd=checkout).strip()
    forge.push(checkout, repo, branch)
    return git("rev-parse", "HEAD", cwd=checkout).strip()


def provision_token(forge: LocalForge, feedstock: str, workdir: Path, *,
                    provider: str | None = None, expires_at: float | None = None,
                    keep: Iterable[Entry] = ()) -> tuple[Secret, Entry]:
    """A new token: its hash in feedstock-tokens, the plain value in the repo's secrets."""
    token = Secret.new_token()
    entry = hash_token(token, provider=provider, expires_at=expires_at)
    # dump drops entries expired at `now`; an expired one is kept by dumping as of 0
    expired = expires_at is not None and expires_at <= time.time()
    text = registry_file.dump([*keep, entry], now=0.0 if expired else None)
    commit_files(forge, "feedstock-tokens", {f"tokens/{feedstock}-feedstock.json": text},
                 workdir)
    repo = forge.repo(f"{feedstock}-feedstock")
    key = forge.repo_public_key(repo)
    forge.put_repo_secret(repo, "FEEDSTOCK_TOKEN", seal(key, token), key.key_id)
    return token, entry


def stage(service: Service, workdir: Path, *, name: str, version: str = "1.0.0",
          fmt: str = ".conda", labels: Iterable[str] = ("main",), **kwargs: Any
          ) -> tuple[Dist, str]:
    """Build a package, upload it to staging; (its dist, its sha256)."""
    path = build_package(workdir / "built", name=name, version=version, fmt=fmt, **kwargs)
    subdir = kwargs.get("subdir", "noarch")
    dist = parse_dist(f"{subdir}/{path.name}")
    service.channels.staging.upload(path, dist, labels=labels)
    return dist, hashlib.sha256(path.read_bytes()).hexdigest()


def body(feedstock: str, outputs: Mapping[str, str], **fields: Any) -> dict[str, Any]:
    data = {"feedstock": f"{feedstock}-feedstock", "outputs": dict(outputs), "channel": "main",
            "git_sha": "a" * 40, "hash_type": "sha256", "provider": "github_actions",
            "comment_on_error": True}
    data.update(fields)
    return data


def tree_digest(root: Path) -> str:
    """Every path and byte under `root`: equal digests mean an unchanged tree."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        if path.is_file() and not path.is_symlink():
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def repodata(channel: LocalChannel, subdir: str = "noarch", label: str = "main") -> Any:
    return json.loads(channel.index.view_path(subdir, label).read_text())


def listed(channel: LocalChannel, subdir: str = "noarch", label: str = "main") -> set[str]:
    """What the channel lists under `label`: its repodata, or for a working area
    (staging, quarantine: no repodata), its records."""
    if not channel.repodata:
        return {fn for fn, e in channel.index.entries(subdir).items() if label in e.labels}
    data = repodata(channel, subdir, label)
    return set(data["packages"]) | set(data["packages.conda"])


def tar_bz2(path: Path, index: Mapping[str, Any], members: Iterable[tuple[Any, ...]]) -> Path:
    """A hand-made .tar.bz2: `members` are (name, data) or (name, b"", type, linkname)."""
    with tarfile.open(path, "w:bz2") as tar:
        for name, data, *link in [("info/index.json", json.dumps(index).encode()), *members]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            if link:
                info.type, info.linkname, info.size = link[0], link[1], 0
            tar.addfile(info, io.BytesIO(data) if not link else None)
    return path


def leaks(needles: Iterable[str], trees: Iterable[Path], texts: Iterable[str] = ()) -> list[str]:
    """Where any needle appears: files, decompressed git objects, captured texts."""
    return scan(needles, trees=trees, texts=texts)


def solve(channel_url: str, specs: list[str]) -> list[dict[str, Any]]:
    return solve_in_child(channel_url, specs)


@dataclass
class OutputsEnv:
    root: Path
    forge: LocalForge
    service: Service
    token: Secret  # pkg00000's
    other_token: Secret  # pkg00001's

    @property
    def staging(self) -> LocalChannel:
        channel = self.service.channels.staging
        assert isinstance(channel, LocalChannel)
        return channel

    @property
    def production(self) -> LocalChannel:
        channel = self.service.channels.production
        assert isinstance(channel, LocalChannel)
        return channel

    @property
    def quarantine(self) -> LocalChannel:
        channel = self.service.channels.quarantine
        assert isinstance(channel, LocalChannel)
        return channel


SINGLE = """{% set name = "Pkg00000" %}
package:
  name: {{ name|lower }}
  version: 1.0.0
build:
  noarch: generic
"""
MULTI = """{% set name = "pkg00001" %}
package:
  name: {{ name }}-split
  version: 1.0.0
outputs:
  - name: lib{{ name }}
  - name: {{ name }}   # [unix]
  - name: {{ name }}   # [win]
"""


def build_env(root: Path) -> OutputsEnv:
    forge = make_forge(root / "forge", count=3)
    commit_files(forge, "pkg00000-feedstock", {"recipe/meta.yaml": SINGLE}, root)
    commit_files(forge, "pkg00001-feedstock", {"recipe/meta.yaml": MULTI}, root)
    token, _ = provision_token(forge, "pkg00000", root)
    other, _ = provision_token(forge, "pkg00001", root)
    register_outputs(forge, ["pkg00000", "pkg00001"], workdir=root / "registry")
    service = layout.local_service(forge, forge_root=forge.root, lock_timeout=30)
    return OutputsEnv(root, forge, service, token, other)


@pytest.fixture(name="env")
def env_fixture(tmp_path: Path) -> Iterator[OutputsEnv]:
    """Import `env_fixture` into a test module to get the `env` fixture."""
    yield build_env(tmp_path)


def environ_without_token() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "FEEDSTOCK_TOKEN"}
