"""One bare repository of a seeded forge, written with as few files as git accepts.

A forge of 30,000 feedstocks is mostly file-system work: every file and directory
costs a creation and a disk block. A repository here is `HEAD`, `config`, `packed-refs`,
one pack and its index, in the directories git requires (`objects/pack`, `refs`); git
creates what else it needs (loose refs, `hooks`, `info`) when someone pushes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from testing.seed_pack import Files, ObjectCache, commit, write_pack

_CONFIG = (
    b"[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n"
    b"[receive]\n\tdenyNonFastForwards = true\n"
)
_REJECT_HOOK = (
    "#!/bin/sh\n"
    "echo 'protected branch: changes to this feedstock need a reviewed pull request' >&2\n"
    "exit 1\n"
)


class Skeleton:
    """Files with the same bytes in every repository (`HEAD`, `config`): written once,
    then hard-linked. git changes these files by writing a new file and renaming it over
    the old one, so a change in one repository never reaches the others."""

    def __init__(self) -> None:
        self._sources: dict[bytes, Path] = {}

    def place(self, path: Path, data: bytes) -> None:
        source = self._sources.get(data)
        if source is not None:
            try:
                os.link(source, path)
                return
            except OSError:  # gone, or the file system's limit of links per file
                pass
        path.write_bytes(data)
        self._sources[data] = path


def write_bare(
    path: Path, cache: ObjectCache, skeleton: Skeleton, files: Files | None, *,
    message: str, branches: Sequence[str] = ("main",), head: str = "main",
    reject_pushes: bool = False,
) -> str | None:
    """Create the repository at `path` (which must not exist): one commit of `files` on
    every branch in `branches`, or no commit at all when `files` is None. Returns the
    commit's id."""
    for folder in ("", "objects", "objects/pack", "refs"):
        os.mkdir(path / folder)
    skeleton.place(path / "HEAD", f"ref: refs/heads/{head}\n".encode())
    skeleton.place(path / "config", _CONFIG)
    sha = None
    if files is not None:
        made, objects = commit(cache, files, message=message)
        write_pack(path / "objects" / "pack", objects)
        sha = made.hex()
        refs = "".join(f"{sha} refs/heads/{b}\n" for b in sorted(set(branches)))
        (path / "packed-refs").write_text("# pack-refs with: peeled fully-peeled sorted \n"
                                          + refs)
    if reject_pushes:
        hook = path / "hooks" / "pre-receive"
        hook.parent.mkdir()
        hook.write_text(_REJECT_HOOK)
        hook.chmod(0o755)
    return sha
