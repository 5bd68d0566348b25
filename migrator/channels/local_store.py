"""Channels on this machine's disk: their files go out and come in as hard links, so
bytes that were read once (hashed, scanned) are placed without being read again.

What stands for "these are the bytes that were read" is the file's `Identity`: its
inode, with the size and modification time it had while it was read.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple, Protocol, TypeGuard, runtime_checkable

from migrator.channels.dists import Dist


class Identity(NamedTuple):
    """Which bytes a path holds: channel files are placed by rename or link and never
    written in place, so an inode with an unchanged size and mtime holds the same bytes."""

    device: int
    inode: int
    size: int
    mtime_ns: int


def identity_of(path: Path) -> Identity:
    st = os.stat(path)
    return Identity(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class Incoming(NamedTuple):
    """A file to publish. With `identity` (the inode `record` was computed from) the
    channel links it in without reading it; without, it copies it and reads it."""

    src: Path
    dist: Dist
    record: Mapping[str, Any] | None = None
    identity: Identity | None = None


@runtime_checkable
class LocalStore(Protocol):
    def hold(self, dist: Dist, dest: Path) -> Identity:
        """A read-only hard link of the file at `dest` (a copy across file systems)."""
        ...

    def outgoing(self, dist: Dist, record: Mapping[str, Any] | None = None) -> Incoming:
        """One of its files, to be placed in another `LocalStore`."""
        ...

    def receive_many(self, items: Sequence[Incoming], *, labels: Iterable[str]) -> None:
        """`place_many`, then `publish_subdirs`."""
        ...

    def path(self, dist: Dist) -> Path: ...

    def keep(self, item: Incoming) -> None:
        """The item's bytes at its name, unlisted: a working copy published elsewhere."""
        ...

    def place_many(self, items: Sequence[Incoming], *, labels: Iterable[str],
                   placed: set[str] | None = None) -> None: ...

    def publish_subdirs(self, subdirs: Iterable[str]) -> None: ...


_LOCAL: dict[type, bool] = {}


def is_local(channel: object) -> TypeGuard[LocalStore]:
    """Whether `channel` is a `LocalStore` (asked once per class: a protocol check is
    slow, and this is asked for every file)."""
    kind = type(channel)
    if kind not in _LOCAL:
        _LOCAL[kind] = isinstance(channel, LocalStore)
    return _LOCAL[kind]
