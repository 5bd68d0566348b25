"""What the stand-in GitHub knows: one organisation, its repositories, their secrets (with
real sealed-box key pairs, so tests can read what was stored), comments, issues and pull
requests, the App and the tokens it handed out."""

from __future__ import annotations

import datetime as dt
import os
import secrets as pysecrets
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from migrator.forges import local_keys


def stamp(at: float | None = None) -> str:
    moment = dt.datetime.fromtimestamp(time.time() if at is None else at, dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Repo:
    id: int
    name: str
    default_branch: str
    archived: bool
    git_dir: Path
    pushed_at: str = field(default_factory=stamp)
    key: dict[str, str] = field(default_factory=local_keys.new_key_pair)
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)
    comments: list[dict[str, Any]] = field(default_factory=list)
    issues: list[dict[str, Any]] = field(default_factory=list)  # pull requests too
    pushes: int = 0


@dataclass
class OrgSecret:
    encrypted_value: str
    key_id: str
    visibility: str
    selected: set[int]
    created_at: str
    updated_at: str


@dataclass
class Token:
    identity: str
    expires_at: float


class App:
    """A GitHub App with a real RSA key: PyGithub signs its JWTs with the private half."""

    def __init__(self, app_id: int = 4242, installation_id: int = 31337) -> None:
        self.app_id, self.installation_id = app_id, installation_id
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.private_pem = self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()).decode()
        self.public_pem = self._key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


class Model:
    def __init__(self, org: str = "conda-forge", *, token_ttl: float = 3600.0) -> None:
        self.org = org
        self.org_id = 4_400_000
        self.lock = threading.RLock()
        self.repos: dict[str, Repo] = {}
        self.org_key = local_keys.new_key_pair()
        self.org_secrets: dict[str, OrgSecret] = {}
        self.app = App()
        self.token_ttl = token_ttl
        self.tokens: dict[str, Token] = {}
        self.token_exchanges = 0

    # -- repositories ------------------------------------------------------------------
    def add_repo(self, name: str, git_dir: Path, *, repo_id: int | None = None,
                 default_branch: str = "main", archived: bool = False) -> Repo:
        with self.lock:
            rid = repo_id if repo_id is not None else 500_000 + len(self.repos)
            repo = Repo(rid, name, default_branch, archived, Path(git_dir))
            self.repos[name] = repo
            return repo

    def import_local(self, forge: Any, extra: tuple[str, ...] = (
            "feedstock-tokens", "feedstock-outputs")) -> None:
        """Serve a local forge's repositories (in place) with what GitHub knows of each."""
        for info in [*forge.list_feedstocks(), *(forge.repo(n) for n in extra)]:
            self.add_repo(info.name, forge.git_dir(info.name), repo_id=info.id,
                          default_branch=info.default_branch, archived=info.archived)

    def repo(self, name: str) -> Repo | None:
        return self.repos.get(name)

    def repo_by_id(self, repo_id: int) -> Repo | None:
        return next((r for r in self.repos.values() if r.id == repo_id), None)

    def listed(self) -> list[Repo]:
        """Oldest first, like `sort=created&direction=asc` (ids grow with creation)."""
        return sorted(self.repos.values(), key=lambda r: r.id)

    # -- tokens ------------------------------------------------------------------------
    def issue_token(self, identity: str, ttl: float | None = None) -> tuple[str, float]:
        value = "ghs_" + pysecrets.token_hex(18)
        expires = time.time() + (self.token_ttl if ttl is None else ttl)
        with self.lock:
            self.tokens[value] = Token(identity, expires)
        return value, expires

    def identity(self, token: str) -> str | None:
        with self.lock:
            found = self.tokens.get(token)
        if found is None or found.expires_at <= time.time():
            return None
        return found.identity

    # -- what a CI job of a repository would be given ----------------------------------
    def secret_value(self, repo: str, name: str) -> str | None:
        item = self.repos[repo].secrets.get(name)
        if item is None:
            return None
        return local_keys.decrypt(self.repos[repo].key, item["encrypted_value"])

    def ci_secrets(self, repo: str) -> dict[str, str]:
        found = self.repos[repo]
        values = {}
        for name, item in self.org_secrets.items():
            if item.visibility != "selected" or found.id in item.selected:
                values[name] = local_keys.decrypt(self.org_key, item.encrypted_value)
        for name in found.secrets:
            values[name] = self.secret_value(repo, name) or ""
        return values

    def add_pull(self, repo: str, title: str, head: str, base: str = "main",
                 author: str = "contributor", *, files: Mapping[str, bytes] | None = None,
                 ) -> int:
        """An open pull request from `head` (a fork's branch) into `base`. Like GitHub,
        the repository gets `refs/pull/<number>/head`: a commit on `base` changing
        `files` (none: the same tree), when the repository has that branch."""
        with self.lock:
            found = self.repos[repo]
            number = len(found.issues) + 1
            found.issues.append({"number": number, "title": title, "body": "", "state": "open",
                                 "head": head, "base": base, "author": author, "pull": True,
                                 "comments": []})
        _pull_ref(found.git_dir, number, base, title, files or {})
        return number


def _pull_ref(git_dir: Path, number: int, base: str, title: str,
              files: Mapping[str, bytes]) -> None:
    def git(*args: str, data: bytes | None = None, index: Path | None = None) -> str | None:
        env = {**os.environ, "GIT_AUTHOR_NAME": "contributor", "GIT_COMMITTER_NAME":
               "contributor", "GIT_AUTHOR_EMAIL": "c@example.org",
               "GIT_COMMITTER_EMAIL": "c@example.org"}
        if index is not None:
            env["GIT_INDEX_FILE"] = str(index)
        done = subprocess.run(["git", *args], cwd=git_dir, input=data, capture_output=True,
                              env=env)
        return done.stdout.decode().strip() if done.returncode == 0 else None

    if not (git_dir / "HEAD").is_file() or git("rev-parse", "--verify", "-q", base) is None:
        return
    with tempfile.TemporaryDirectory() as scratch:
        index = Path(scratch) / "index"
        git("read-tree", base, index=index)
        for path, data in files.items():
            blob = git("hash-object", "-w", "--stdin", data=data)
            git("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", index=index)
        tree = git("write-tree", index=index)
        commit = git("commit-tree", str(tree), "-p", base, "-m", title)
    git("update-ref", f"refs/pull/{number}/head", str(commit))
