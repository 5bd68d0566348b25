"""A registry repository read from the service's own clone (`registry_clone`): files are
read from disk and remembered until the clone moves, never a process per read.

Freshness is by the registry's tip. Each fetch starts a new `generation`; a read uses
the clone as the last fetch left it, provided that fetch began at most `max_age`
seconds ago. A caller that must not act on older news (a refusal: a name or token
registered a moment ago) asks for a generation that began after its request arrived
(`refresh(newer_than=...)`); callers waiting at the same time share one fetch.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import NamedTuple

from migrator.core.git import GitError
from migrator.forges import Forge, ForgeError
from migrator.registries import outputs_registry as registry
from migrator.service.registry_clone import RegistryClone


class Generation(NamedTuple):
    began: float  # time.monotonic() when its fetch began
    sha: str | None  # the commit the clone holds; None: the registry has none yet


class FreshReads:
    def __init__(self, forge: Forge, folder: Path, *, repo: str, max_age: float) -> None:
        self.repo = repo
        self.clone = RegistryClone(forge, folder, repo=repo)
        self.max_age = max_age
        self.fetches = 0
        self.generation: Generation | None = None
        self._fetching = threading.Lock()  # one fetch at a time; waiters share it
        self._memo: dict[str, bytes | None] = {}  # guarded by the clone's lock

    def refresh(self, *, newer_than: float | None = None) -> Generation:
        """A generation whose fetch began after `newer_than` (a `time.monotonic()`), by
        default at most `max_age` seconds ago. RegistryError when it cannot be read."""
        limit = time.monotonic() - self.max_age if newer_than is None else newer_than
        current = self.generation
        if current is not None and current.began >= limit:
            return current
        with self._fetching:
            current = self.generation
            if current is not None and current.began >= limit:
                return current  # fetched while this thread waited
            began = time.monotonic()
            self.fetches += 1
            try:
                changed = self.clone.update()
            except (ForgeError, GitError, OSError) as exc:
                raise registry.RegistryError(f"cannot read {self.repo}: {exc}") from None
            if changed:
                with self.clone.lock:
                    self._memo.clear()
            self.generation = Generation(began, self.clone.sha)
            return self.generation

    def read(self, path: str) -> bytes | None:
        """A file of the registry (None: there is none), as fresh as `refresh` makes it."""
        self.refresh()
        with self.clone.lock:
            if path not in self._memo:
                self._memo[path] = self.clone.read(path)
            return self._memo[path]

    def close(self) -> None:
        self.clone.close()
