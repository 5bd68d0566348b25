"""A forge that reads from a real one and records, instead of making, every change."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import NamedTuple

from migrator.core.git import git
from migrator.core.secret import Secret
from migrator.forges import Forge, OrgSecretInfo, PullInfo, RepoInfo, SecretInfo
from migrator.forges.ci_secrets import CISecretStore, StoreAck
from migrator.forges.pacing import Budget


class Action(NamedTuple):
    kind: str  # push, secret, org-secret, org-secret-repo, comment, issue
    repo: str
    detail: str


class DryRunForge:
    def __init__(self, inner: Forge) -> None:
        self.inner = inner
        self.org = inner.org
        self.actions: list[Action] = []
        self._secrets: dict[tuple[str, str], dt.datetime] = {}
        self._org_secrets: dict[str, OrgSecretInfo] = {}
        self._lock = threading.Lock()

    def _record(self, kind: str, repo: str, detail: str) -> None:
        with self._lock:
            self.actions.append(Action(kind, repo, detail))

    # reads pass through
    def list_feedstocks(self) -> list[RepoInfo]:
        return self.inner.list_feedstocks()

    def branches(self, repo: RepoInfo) -> list[str]:
        return self.inner.branches(repo)

    def read_file(self, repo: str, path: str, ref: str | None = None) -> bytes | None:
        return self.inner.read_file(repo, path, ref)

    def clone(self, repo: str, branch: str | None, dest: Path, *, depth: int | None = 1) -> None:
        self.inner.clone(repo, branch, dest, depth=depth)

    def fetch(self, workdir: Path, repo: str, branch: str, *, depth: int | None = 1) -> None:
        self.inner.fetch(workdir, repo, branch, depth=depth)

    def org_secret(self, name: str) -> OrgSecretInfo | None:
        with self._lock:
            if name in self._org_secrets:
                return self._org_secrets[name]
        return self.inner.org_secret(name)

    def repo_secrets(self, repo: RepoInfo) -> dict[str, SecretInfo]:
        found = dict(self.inner.repo_secrets(repo))
        with self._lock:
            for (name_repo, name), when in self._secrets.items():
                if name_repo == repo.name:
                    found[name] = SecretInfo(name, when)
        return found

    # writes are recorded
    def push(self, workdir: Path, repo: str, branch: str) -> None:
        subject = git("log", "-1", "--format=%h %s", cwd=workdir).strip()
        self._record("push", repo, f"{branch}: {subject}")

    def write_repo_secret(self, repo: RepoInfo, name: str, value: Secret) -> SecretInfo:
        when = dt.datetime.now(dt.timezone.utc)
        with self._lock:
            self._secrets[(repo.name, name)] = when
        self._record("secret", repo.name, name)
        return SecretInfo(name, when)

    def write_org_secret(self, name: str, value: Secret, *, visibility: str,
                         selected_repository_ids: list[int] | None = None) -> None:
        with self._lock:
            self._org_secrets[name] = OrgSecretInfo(
                name, dt.datetime.now(dt.timezone.utc), visibility,
                frozenset(selected_repository_ids or ()))
        self._record("org-secret", self.org, f"{name} (visibility {visibility})")

    def add_org_secret_repo(self, name: str, repo: RepoInfo) -> None:
        self._record("org-secret-repo", repo.name, name)

    def budget(self) -> Budget | None:
        return self.inner.budget()

    def comment_on_commit(self, repo: str, sha: str, body: str) -> None:
        self._record("comment", repo, sha)

    def open_issue(self, repo: str, title: str, body: str) -> int:
        self._record("issue", repo, title)
        return 0

    def open_pulls(self, repo: str) -> list[PullInfo]:
        return self.inner.open_pulls(repo)

    def comment_on_pull(self, repo: str, number: int, body: str) -> None:
        self._record("pull-comment", repo, f"#{number}")


class DryRunStore:
    """A CI secret store that records writes instead of making them."""

    def __init__(self, inner: CISecretStore, forge: DryRunForge) -> None:
        self.inner = inner
        self.provider = inner.provider
        self._forge = forge
        self._written: dict[str, StoreAck] = {}

    def write_feedstock_token(self, repo: RepoInfo, token: Secret) -> StoreAck:
        ack = StoreAck("FEEDSTOCK_TOKEN", dt.datetime.now(dt.timezone.utc))
        self._written[repo.name] = ack
        self._forge._record(f"{self.provider} secret", repo.name, ack.name)
        return ack

    def feedstock_token_written(self, repo: RepoInfo) -> StoreAck | None:
        return self._written.get(repo.name) or self.inner.feedstock_token_written(repo)

    def ensure_staging_access(self, repo: RepoInfo) -> None:
        self._forge._record(f"{self.provider} staging", repo.name, "staging token access")
