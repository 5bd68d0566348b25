"""Scratch repositories: bare repositories, made in-process, that a feedstock's branches
are fetched into (each tip once) and its new commits are pushed from. Nothing is checked
out unless a full rerender asks for a working tree.

A run keeps a pool of them and hands each to one feedstock at a time; between two
feedstocks only the packs are deleted (the fetched one and the one holding the new
commits), which costs far less than making and removing a repository per feedstock.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path

from migrator.core.git import git
from migrator.core.gitobjects import ObjectStore, fetched_head, init_scratch, set_head
from migrator.feedstock.commit_files import CommitFiles
from migrator.forges import Forge

_LEFTOVERS = ("shallow", "FETCH_HEAD", "HEAD.new")


class ScratchPool:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._free: list[ObjectStore] = []
        self._lock = threading.Lock()

    def take(self) -> ObjectStore:
        with self._lock:
            if self._free:
                return self._free.pop()
        path = Path(tempfile.mkdtemp(prefix="scratch-", dir=self.root))
        init_scratch(path)
        return ObjectStore(path)

    def give_back(self, store: ObjectStore) -> None:
        """Empty the repository of what one feedstock left and keep it for the next."""
        try:
            store.clear()
            for name in _LEFTOVERS:
                (store.path / name).unlink(missing_ok=True)
            for folder in ("checkouts", "worktrees"):
                if (store.path / folder).exists():
                    shutil.rmtree(store.path / folder)
            (store.path / "HEAD").write_text("ref: refs/heads/main\n")
        except OSError:
            shutil.rmtree(store.path, ignore_errors=True)  # start the next one afresh
            return
        with self._lock:
            self._free.append(store)


class ForgeScratch:
    """A scratch repository lent to one forge repository."""

    def __init__(self, forge: Forge, repo: str, objects: ObjectStore) -> None:
        self.forge, self.repo, self.objects = forge, repo, objects
        self.path = objects.path
        self._checkouts = 0

    def fetch(self, branch: str) -> CommitFiles:
        self.forge.fetch(self.path, self.repo, branch)
        return CommitFiles(self.objects, fetched_head(self.path))

    def push(self, commit: str, branch: str) -> None:
        self.objects.seal()
        set_head(self.path, commit)
        self.forge.push(self.path, self.repo, branch)

    def checkout(self, commit: str) -> Path:
        """A working tree of `commit` (a linked worktree of the scratch repository, so
        tools that expect a git checkout find one)."""
        self._checkouts += 1
        dest = self.path / "checkouts" / str(self._checkouts)
        self.objects.seal()
        git("worktree", "add", "--detach", "--quiet", "--end-of-options", str(dest), commit,
            cwd=self.path)
        return dest
