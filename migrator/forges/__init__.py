"""Where feedstocks live. Every change to the world goes through a `Forge`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Protocol

from migrator.core.errors import MigratorError
from migrator.core.secret import Secret

if TYPE_CHECKING:
    from migrator.forges.pacing import Budget


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


class PullInfo(NamedTuple):
    number: int
    title: str
    head_ref: str  # the ref its commits can be read at: "refs/pull/<number>/head"
    base_ref: str  # the branch it would merge into
    author: str


class ForgeError(MigratorError):
    """The forge could not do what was asked for one repository (missing, refused...)."""

    code = "forge"


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

    # Actions secrets: write-only, like GitHub's. The forge seals each value with the
    # repository's (or organisation's) public key itself; callers pass the plain Secret.
    def write_repo_secret(self, repo: RepoInfo, name: str, value: Secret) -> SecretInfo:
        """Write (create or replace) a repository secret; returns the forge's record."""
        ...

    def repo_secrets(self, repo: RepoInfo) -> dict[str, SecretInfo]: ...

    def write_org_secret(
        self, name: str, value: Secret, *, visibility: str,
        selected_repository_ids: list[int] | None = None,
    ) -> None: ...

    def org_secret(self, name: str) -> OrgSecretInfo | None: ...

    def add_org_secret_repo(self, name: str, repo: RepoInfo) -> None: ...

    def budget(self) -> Budget | None:
        """What is left of the API budget of this run (None: the forge has no limits)."""
        ...

    # conversation with maintainers
    def comment_on_commit(self, repo: str, sha: str, body: str) -> None: ...

    def open_issue(self, repo: str, title: str, body: str) -> int:
        """The open issue with this title gets the new body; otherwise a new issue."""
        ...

    def open_pulls(self, repo: str) -> list[PullInfo]: ...

    def comment_on_pull(self, repo: str, number: int, body: str) -> None: ...
