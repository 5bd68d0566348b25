"""Tree and commit objects: parsed, edited by path and written, all in-process.

Names are bytes in git; here they are `str` decoded with surrogateescape, so any name a
repository holds survives a round trip unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import NamedTuple

from migrator.core.git import IDENTITY
from migrator.core.gitobjects import ObjectError, ObjectStore

TREE = "40000"
FILE = "100644"
EXECUTABLE = "100755"
FILE_MODES = (FILE, EXECUTABLE)
TREE_LIMIT = 8 << 20  # one directory's listing
COMMIT_LIMIT = 1 << 20

Change = bytes | None  # a path's new content, or None to delete it


class TreeEntry(NamedTuple):
    mode: str  # "100644", "100755", "120000" (symlink), "160000" (submodule), "40000"
    name: str
    oid: str


def read_tree(store: ObjectStore, oid: str) -> list[TreeEntry]:
    kind, body = store.read(oid, limit=TREE_LIMIT)
    if kind != "tree":
        raise ObjectError(f"object {oid[:12]} is a {kind}, not a tree")
    entries = []
    at = 0
    try:
        while at < len(body):
            space = body.index(b" ", at)
            nul = body.index(b"\0", space)
            mode = body[at:space].decode("ascii")
            name = body[space + 1:nul].decode("utf-8", "surrogateescape")
            if nul + 21 > len(body) or not name or "/" in name:
                raise ValueError(name)
            entries.append(TreeEntry(mode, name, body[nul + 1:nul + 21].hex()))
            at = nul + 21
    except ValueError:
        raise ObjectError(f"tree {oid[:12]} is malformed") from None
    return entries


def write_tree(store: ObjectStore, entries: list[TreeEntry]) -> str:
    def key(entry: TreeEntry) -> bytes:  # git orders a directory as if named "name/"
        name = entry.name.encode("utf-8", "surrogateescape")
        return name + b"/" if entry.mode == TREE else name

    body = b"".join(e.mode.encode("ascii") + b" " + e.name.encode("utf-8", "surrogateescape")
                    + b"\0" + bytes.fromhex(e.oid) for e in sorted(entries, key=key))
    return store.write("tree", body)


def commit_tree(store: ObjectStore, oid: str) -> str:
    """The root tree of commit `oid`."""
    kind, body = store.read(oid, limit=COMMIT_LIMIT)
    first = body.split(b"\n", 1)[0].decode("ascii", "replace")
    if kind != "commit" or not first.startswith("tree "):
        raise ObjectError(f"object {oid[:12]} is not a commit")
    return first[5:]


def edit_tree(store: ObjectStore, tree: str, changes: Mapping[str, Change]) -> str:
    """The tree `tree` with every path of `changes` replaced (or removed, for None).
    A changed file keeps its mode (executable or not); a new one is 100644. Directories
    left empty disappear, as git has no empty directories."""
    by_name = {e.name: e for e in read_tree(store, tree)}
    nested: dict[str, dict[str, Change]] = {}
    for path, data in changes.items():
        head, slash, rest = path.partition("/")
        if slash:
            nested.setdefault(head, {})[rest] = data
            continue
        old = by_name.get(head)
        if old is not None and old.mode not in FILE_MODES:
            raise ObjectError(f"{head} is not a regular file in the tree")
        if data is None:
            by_name.pop(head, None)
        else:
            mode = old.mode if old is not None else FILE
            by_name[head] = TreeEntry(mode, head, store.write("blob", data))
    for head, inner in nested.items():
        old = by_name.get(head)
        if old is not None and old.mode != TREE:
            raise ObjectError(f"{head} is not a directory in the tree")
        base = old.oid if old is not None else write_tree(store, [])
        sub = edit_tree(store, base, inner)
        if read_tree(store, sub):
            by_name[head] = TreeEntry(TREE, head, sub)
        else:
            by_name.pop(head, None)
    return write_tree(store, list(by_name.values()))


def write_commit(store: ObjectStore, tree: str, parent: str, message: str) -> str:
    """A commit by the bot's identity, now."""
    stamp = f"{int(time.time())} +0000"
    who = f"{IDENTITY[0]} <{IDENTITY[1]}> {stamp}"
    body = (f"tree {tree}\nparent {parent}\nauthor {who}\ncommitter {who}\n\n"
            f"{clean_message(message)}")
    return store.write("commit", body.encode("utf-8"))


def clean_message(message: str) -> str:
    """What `git commit` makes of a message: trailing spaces and surplus blank lines
    gone, one final newline."""
    lines: list[str] = []
    for line in message.splitlines():
        line = line.rstrip()
        if line or (lines and lines[-1]):
            lines.append(line)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n"
