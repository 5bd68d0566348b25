"""Reading a feedstock's files straight from a git tree object, no checkout needed.

A tree is walked by name, never through a link: a path below a symlink does not exist
in it. What is left to refuse is the entry itself when it is not a plain file: a
symlink (mode 120000) whose "content" is its target, a submodule, a directory. Sizes
come from the tree listing, so an oversized blob is refused without being read.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import NamedTuple

from migrator.core.git import git_env
from migrator.feedstock import FeedstockError
from migrator.feedstock.safe_files import UnsafePath, relative_parts

FILE_MODES = ("100644", "100755")
_REV = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_./@{}^~-]*$")
_KINDS = {"120000": "a symlink", "160000": "a submodule", "040000": "a directory"}


class TreeFile(NamedTuple):
    data: bytes
    mode: str  # "100644" or "100755"


class _Entry(NamedTuple):
    mode: str
    oid: str
    size: int | None
    name: str


def read_tree_file(repo: Path, rev: str, rel: str, *, limit: int) -> TreeFile | None:
    """`rel` as committed at `rev` in the repository at `repo`; None when absent."""
    relative_parts(rel)
    entries = [e for e in _ls_tree(repo, rev, rel) if e.name == rel]
    if not entries:
        return None
    entry = entries[0]
    if entry.mode not in FILE_MODES:
        raise UnsafePath(rel, f"is {_KINDS.get(entry.mode, 'not a file')} in the repository")
    if entry.size is None or entry.size > limit:
        raise UnsafePath(rel, f"is {entry.size} bytes, over the {limit}-byte limit")
    data = _git(repo, "cat-file", "blob", entry.oid)
    return TreeFile(data, entry.mode)


def list_tree_dir(repo: Path, rev: str, rel: str) -> list[str] | None:
    """Names of the plain files directly in directory `rel` at `rev`, sorted; None when
    there is no such directory."""
    relative_parts(rel)
    entries = _ls_tree(repo, rev, rel + "/")
    prefix = rel + "/"
    if not entries:
        return None
    return sorted(e.name[len(prefix):] for e in entries
                  if e.mode in FILE_MODES and e.name.startswith(prefix))


def _ls_tree(repo: Path, rev: str, path: str) -> list[_Entry]:
    if not _REV.match(rev):
        raise FeedstockError(f"{rev!r} is not a revision name")
    out = _git(repo, "ls-tree", "-z", "-l", "--full-tree", rev, "--", path)
    entries = []
    for record in out.split(b"\0"):
        if not record:
            continue
        meta, _, name = record.partition(b"\t")
        mode, _kind, oid, size = meta.decode("ascii").split()
        entries.append(_Entry(mode, oid, int(size) if size.isdigit() else None,
                              name.decode("utf-8", "surrogateescape")))
    return entries


def _git(repo: Path, *args: str) -> bytes:
    # literal pathspecs: a path from a feedstock is a name, never a glob
    proc = subprocess.run(["git", *args], cwd=repo, capture_output=True,
                          env=git_env({"GIT_LITERAL_PATHSPECS": "1"}))
    if proc.returncode != 0:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise FeedstockError(f"git {args[0]} failed: {lines[-1] if lines else proc.returncode}")
    return proc.stdout
