"""Putting bytes at a name in a local channel, all or nothing.

A file is written under a hidden temporary name (`.<fn>.<pid>.<random>.partial`) and
renamed into place, so a reader sees it whole or not at all. Bytes whose identity is
known (they were read and checked at that inode) are hard-linked: nothing is read or
written, and the link is compared with the identity before it is renamed into place.
Other bytes, and any bytes when a link cannot be made (another file system), are
copied while their sha256 is computed, and the file is synced before it is renamed.
Making many names durable costs one sync of their directory (`sync_dir`), once.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import itertools
import os
from pathlib import Path

from migrator.channels.local_store import Identity, identity_of
from migrator.core.pids import alive

PARTIAL = ".partial"
_SERIAL = itertools.count()
_CHUNK = 1 << 20
# a link is refused across file systems, by file systems without links, past the limit
_NO_LINK = (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP)


class Changed(OSError):
    """The bytes are not those that were checked: nothing was placed."""


def temporary_name(dest: Path) -> Path:
    return dest.parent / f".{dest.name}.{os.getpid()}.{next(_SERIAL)}{PARTIAL}"


def place(src: Path, dest: Path, *, identity: Identity | None, sha256: str | None) -> str:
    """Put the bytes of `src` at `dest` (which must not exist) and return their sha256
    when they were read ("" when they were linked). `sha256`, when given, must match."""
    if not dest.parent.is_dir():
        dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(dest)
    try:
        digest = ""
        if identity is not None and _linked(src, tmp):
            if identity_of(tmp) != identity:
                raise Changed(f"{src} changed after it was checked")
        else:
            digest = _copy(src, tmp)
            if sha256 is not None and digest != sha256:
                raise Changed(f"{src} changed while it was copied")
        os.replace(tmp, dest)
        return digest
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: str, data: bytes) -> None:
    """`data` at `path` whole or not at all, in few system calls (its directory must
    exist): records are written several times per published file."""
    tmp = f"{os.path.dirname(path)}/.{os.path.basename(path)}.{os.getpid()}.{next(_SERIAL)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def link_or_copy(src: Path, dest: Path) -> None:
    """`dest` (a new name) holding the bytes of `src`: a link when one can be made."""
    if not _linked(src, dest):
        _copy(src, dest)


def sync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _linked(src: Path, dest: Path) -> bool:
    try:
        os.link(src, dest)
    except OSError as exc:
        if exc.errno in _NO_LINK:
            return False
        raise
    return True


def _copy(src: Path, dest: Path) -> str:
    digest = hashlib.sha256()
    with open(src, "rb") as reader, open(dest, "xb") as writer:
        while chunk := reader.read(_CHUNK):
            digest.update(chunk)
            writer.write(chunk)
        writer.flush()
        os.fsync(writer.fileno())
    return digest.hexdigest()


def dead_partials(root: Path) -> list[Path]:
    """Temporary files whose writer is no longer running."""
    found = []
    for path in root.glob(f"*/.*{PARTIAL}"):
        pid = path.name[: -len(PARTIAL)].rsplit(".", 2)[-2]
        if not pid.isdigit() or not alive(int(pid)):
            found.append(path)
    return found
