"""Where feedstocks live. Every change to the world goes through a `Forge`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import NamedTuple, Protocol

from migrator.core.errors import MigratorError


class RepoInfo(NamedTuple):
    id: int
    name: str
    default_branch: str
    archived: bool


class PublicKey(NamedTuple):
    key_id: str
    key: str  # base64 of the 32-byte Curve25519 public key


class SecretInfo(NamedTuple):
    name: str
    updated_at: dt.datetime


class OrgSecretInfo(NamedTuple):
    name: str
    updated_at: dt.datetime
    visibility: str  # "all", "private" or "selected"
    selected_repository_ids: frozenset[int]


class ForgeError(MigratorError):
    """The forge could not do what was asked for one repository (missing, refused...)."""


class PushRejected(ForgeError):
    """The remote refused a push. `race` is True when someone else pushed first."""

    def __init__(self, message: str, *, race: bool) -> None:
        super().__init__(message)
        self.race = race


class Forge(Protocol):
    """The one write seam: the local forge and GitHub both satisfy it.

    Repositories are named as on GitHub (`numpy-feedstock`); registry repositories
    (`feedstock-tokens`, `feedstock-outputs`) are repositories of the same organisation.
    """

    org: str

    def list_feedstocks(self) -> list[RepoInfo]: ...

    def branches(self, repo: RepoInfo) -> list[str]: ...

    def read_file(self, repo: str, path: str, ref: str | None = None) -> bytes | None:
        """One file of a repository at `ref` (default branch when None); None if absent."""
        ...

    # git traffic: the only way code reaches a remote
    def clone(self, repo: str, branch: str | None, dest: Path, *, depth: int | None = 1) -> None:
        ...

    def fetch(self, workdir: Path, repo: str, branch: str, *, depth: int | None = 1) -> None: ...

    def push(self, workdir: Path, repo: str, branch: str) -> None: ...

    # Actions secrets: write-only, like GitHub's
    def repo_public_key(self, repo: RepoInfo) -> PublicKey: ...

    def put_repo_secret(
        self, repo: RepoInfo, name: str, encrypted_value: str, key_id: str
    ) -> None: ...

    def repo_secrets(self, repo: RepoInfo) -> dict[str, SecretInfo]: ...

    def written_secret(self, repo: RepoInfo, name: str) -> SecretInfo | None:
        """The forge's own acknowledgement of a secret written in this run (GitHub's 201
        or 204 answer), or None when it has none and `repo_secrets` must be asked."""
        ...

    def org_public_key(self) -> PublicKey: ...

    def put_org_secret(
        self, name: str, encrypted_value: str, key_id: str, *, visibility: str,
        selected_repository_ids: list[int] | None = None,
    ) -> None: ...

    def org_secret(self, name: str) -> OrgSecretInfo | None: ...

    def add_org_secret_repo(self, name: str, repo: RepoInfo) -> None: ...

    # conversation with maintainers
    def comment_on_commit(self, repo: str, sha: str, body: str) -> None: ...

    def open_issue(self, repo: str, title: str, body: str) -> int: ...
