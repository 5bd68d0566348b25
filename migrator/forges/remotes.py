"""Where `publish` pushes: a forge's repository, or any git remote, and where it fetches
the new tip from after a lost race."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple, Protocol

from migrator.forges import Forge


class Remote(Protocol):
    """Where a working copy's branch goes, and where its new tip is fetched from."""

    def push(self, workdir: Path, branch: str) -> None:
        """Push HEAD to `branch`; `PushRejected(race=True)` when someone pushed first."""
        ...

    def fetch(self, workdir: Path, branch: str) -> None:
        """Fetch `branch` into FETCH_HEAD."""
        ...


class ForgeRemote(NamedTuple):
    forge: Forge
    repo: str

    def push(self, workdir: Path, branch: str) -> None:
        self.forge.push(workdir, self.repo, branch)

    def fetch(self, workdir: Path, branch: str) -> None:
        self.forge.fetch(workdir, self.repo, branch)
