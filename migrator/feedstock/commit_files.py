"""A commit's files as the bot reads them: straight from the loose objects of a scratch
repository, in-process, with the rules `safe_files` keeps for a working copy.

A path is walked by name through tree objects, never through a link: a symlink or a
submodule on the way, or as the file itself, is refused with the same words as in a
working copy, and a blob over the caller's limit is refused before it is inflated.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from migrator.core.gitobjects import ObjectError, ObjectStore, ObjectTooLarge
from migrator.core.gittrees import FILE_MODES, TREE, TreeEntry, commit_tree, read_tree
from migrator.feedstock import FeedstockError
from migrator.feedstock.safe_files import UnsafePath, relative_parts

MAX_PATHS = 100_000  # more files than any feedstock has: the walk stops there
T = TypeVar("T")
_KINDS = {"120000": "a symlink", "160000": "a submodule", TREE: "a directory"}


class CommitFiles:
    """The files of commit `commit`, whose objects are in `store` (or the repository at
    that path)."""

    def __init__(self, store: ObjectStore | Path, commit: str, *,
                 tree: str | None = None) -> None:
        self.store = store if isinstance(store, ObjectStore) else ObjectStore(store)
        self.commit = commit
        self.tree = tree if tree is not None else _git_read(
            lambda: commit_tree(self.store, commit))
        self._dirs: dict[str, list[TreeEntry]] = {}

    def read(self, rel: str, *, limit: int) -> bytes | None:
        """The bytes of file `rel`, or None when nothing is there."""
        entry = self.entry(rel)
        if entry is None:
            return None
        if entry.mode not in FILE_MODES:
            raise UnsafePath(rel, f"is {_KINDS.get(entry.mode, 'not a file')}, "
                                  "not a regular file")
        try:
            kind, data = self.store.read(entry.oid, limit=limit)
        except ObjectTooLarge as exc:
            raise UnsafePath(rel, f"is {exc.size} bytes, over the {limit}-byte limit") from None
        except ObjectError as exc:
            raise FeedstockError(f"{rel}: {exc}") from None
        if kind != "blob":
            raise UnsafePath(rel, "is not a regular file")
        return data

    def entry(self, rel: str) -> TreeEntry | None:
        """The tree entry at `rel` (any kind), or None when nothing is there."""
        parts = relative_parts(rel)
        listing = self._listing(rel, parts[:-1])
        if listing is None:
            return None
        return next((e for e in listing if e.name == parts[-1]), None)

    def list_dir(self, rel: str) -> list[str] | None:
        """Names of the regular files directly in directory `rel`, sorted; None when there
        is no such directory."""
        listing = self._listing(rel, relative_parts(rel))
        if listing is None:
            return None
        return sorted(e.name for e in listing if e.mode in FILE_MODES)

    def paths(self) -> list[str]:
        """Every path that is not a directory (files, symlinks, submodules), sorted."""
        found: list[str] = []
        pending = [("", self.tree)]
        while pending:
            prefix, oid = pending.pop()
            for entry in self._tree(oid):
                path = prefix + entry.name
                if entry.mode == TREE:
                    pending.append((path + "/", entry.oid))
                else:
                    found.append(path)
            if len(found) > MAX_PATHS:
                raise FeedstockError(f"the repository holds more than {MAX_PATHS} files")
        return sorted(found)

    def _listing(self, rel: str, dirs: list[str]) -> list[TreeEntry] | None:
        key = "/".join(dirs)
        if key in self._dirs:
            return self._dirs[key]
        entries = self._tree(self.tree)
        for index, name in enumerate(dirs):
            entry = next((e for e in entries if e.name == name), None)
            if entry is None:
                return None
            if entry.mode != TREE:
                where = "/".join(dirs[: index + 1])
                raise UnsafePath(rel, f"{where} is a symlink or not a directory")
            entries = self._tree(entry.oid)
        self._dirs[key] = entries
        return entries

    def _tree(self, oid: str) -> list[TreeEntry]:
        return _git_read(lambda: read_tree(self.store, oid))


def _git_read(read: Callable[[], T]) -> T:
    try:
        return read()
    except ObjectError as exc:
        raise FeedstockError(f"cannot read the fetched commit: {exc}") from None
