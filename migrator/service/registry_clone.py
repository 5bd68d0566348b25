"""The service's own shallow clone of a registry repository, one per process (`pids`).

`update` moves it to the registry's tip; `read` reads one of its files, which must be a
plain file reached through plain directories (a link is refused, never followed). Both
hold `lock`, so a read never sees a half-moved tree."""

from __future__ import annotations

import os
import re
import shutil
import threading
from pathlib import Path

from migrator.core.git import git
from migrator.core.pids import own_folder
from migrator.feedstock.safe_files import UnsafePath, read_feedstock_file
from migrator.forges import Forge, ForgeError
from migrator.registries import outputs_registry as registry

_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


class RegistryClone:
    def __init__(self, forge: Forge, folder: Path, *, repo: str) -> None:
        self.forge = forge
        self.repo = repo
        self.folder = Path(folder).resolve()
        self.checkout = self.folder / f"{repo}-{os.getpid()}"
        self.lock = threading.Lock()
        self.sha: str | None = None  # None: not cloned yet, or the registry is empty
        self._branch: str | None = None

    def update(self) -> bool:
        """Move to the registry's tip; whether the files changed. Call one at a time."""
        if self._branch is None:
            return self._clone()
        self.forge.fetch(self.checkout, self.repo, self._branch, depth=1)
        sha = (self.checkout / ".git" / "FETCH_HEAD").read_text()[:64].split()[0]
        if not _SHA.fullmatch(sha):
            raise OSError(f"fetching {self.repo} left no commit to read")
        if sha == self.sha:
            return False
        with self.lock:
            git("reset", "--quiet", "--hard", sha, cwd=self.checkout)
            self.sha = sha
        return True

    def read(self, path: str) -> bytes | None:
        """Call with `lock` held."""
        if self.sha is None:
            return None
        try:  # each folder and the file opened without following a link
            return read_feedstock_file(self.checkout, path, limit=1 << 20)
        except UnsafePath as exc:
            raise registry.RegistryError(f"{self.repo}/{exc}; not read") from None

    def close(self) -> None:
        shutil.rmtree(self.checkout, ignore_errors=True)

    def _clone(self) -> bool:
        """False while the registry has no commit yet (nothing is registered)."""
        self.checkout = own_folder(self.folder, f"{self.repo}-")
        shutil.rmtree(self.checkout, ignore_errors=True)
        try:
            self.forge.clone(self.repo, None, self.checkout, depth=1)
        except ForgeError as exc:
            if "is empty" in str(exc):
                return False
            raise
        with self.lock:
            self._branch = git("rev-parse", "--abbrev-ref", "HEAD", cwd=self.checkout).strip()
            self.sha = git("rev-parse", "HEAD", cwd=self.checkout).strip()
        return True
