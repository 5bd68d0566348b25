"""Reading and writing files in a working copy whose content belongs to strangers.

Anyone with push access to a feedstock chooses what its tree holds, symlinks included.
A file read or written here is a regular file inside the working copy, reached without
a symlink in any path component and no larger than a stated limit; anything else raises
UnsafePath naming the path. The walk holds a directory descriptor per component and
opens each next one with O_NOFOLLOW, so a component swapped for a link between a check
and the open is refused too, never followed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

from migrator.feedstock import FeedstockError

CONFIG_LIMIT = 1 << 20  # conda-forge.yml
RECIPE_LIMIT = 1 << 20  # recipe files and variant configs
CI_LIMIT = 4 << 20  # rendered CI files
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class UnsafePath(FeedstockError):
    """A path the bot refuses to read or write; `str()` names the path and why."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(path, reason)
        self.path, self.reason = path, reason

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def read_feedstock_file(root: Path, rel: str, *, limit: int) -> bytes | None:
    """The bytes of `root/rel`, or None when nothing is there."""
    parts = relative_parts(rel)
    try:
        with _directory(root, rel, parts[:-1], create=False) as parent:
            return _read(parent, rel, parts[-1], limit)
    except FileNotFoundError:
        return None


def write_feedstock_file(root: Path, rel: str, data: bytes, *, mode: int = 0o644) -> None:
    """Replace `root/rel` with `data` by a rename: a reader sees the old or the new file.
    Missing directories are created; a symlink anywhere on the way is refused."""
    parts = relative_parts(rel)
    with _directory(root, rel, parts[:-1], create=True) as parent:
        _refuse_non_file(parent, rel, parts[-1])
        tmp = f".{parts[-1]}.{secrets.token_hex(6)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     mode, dir_fd=parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                os.fchmod(handle.fileno(), mode)
            os.replace(tmp, parts[-1], src_dir_fd=parent, dst_dir_fd=parent)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp, dir_fd=parent)
            raise


def remove_feedstock_file(root: Path, rel: str) -> bool:
    """Delete `root/rel` (a symlink is removed, never followed); False when absent."""
    parts = relative_parts(rel)
    try:
        with _directory(root, rel, parts[:-1], create=False) as parent:
            os.unlink(parts[-1], dir_fd=parent)
    except FileNotFoundError:
        return False
    except IsADirectoryError:
        raise UnsafePath(rel, "is a directory, not a file") from None
    return True


def list_feedstock_dir(root: Path, rel: str) -> list[str] | None:
    """Names of the regular files directly in `root/rel` (symlinks and other kinds left
    out), sorted; None when the directory is absent."""
    parts = relative_parts(rel)
    try:
        with _directory(root, rel, parts, create=False) as folder:
            names = os.listdir(folder)
            return sorted(n for n in names if stat.S_ISREG(
                os.stat(n, dir_fd=folder, follow_symlinks=False).st_mode))
    except FileNotFoundError:
        return None


def relative_parts(rel: str) -> list[str]:
    """The components of `rel`; UnsafePath unless it is a plain relative path."""
    parts = rel.split("/")
    if (not rel or "\0" in rel or "\\" in rel or rel.startswith("/")
            or any(p in ("", ".", "..") for p in parts)):
        raise UnsafePath(rel, "is not a plain relative path inside the repository")
    return parts


@contextlib.contextmanager
def _directory(root: Path, rel: str, dirs: list[str], *, create: bool) -> Iterator[int]:
    """A descriptor of `root/dirs...`, every step taken with O_NOFOLLOW.
    FileNotFoundError when a directory on the way is missing."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for index, name in enumerate(dirs):
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(name, 0o755, dir_fd=fd)
            try:
                nxt = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                where = "/".join(dirs[: index + 1])
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise UnsafePath(rel, f"{where} is a symlink or not a directory") from None
                raise
            os.close(fd)
            fd = nxt
        yield fd
    finally:
        os.close(fd)


def _refuse_non_file(parent: int, rel: str, name: str) -> None:
    try:
        info = os.stat(name, dir_fd=parent, follow_symlinks=False)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(info.st_mode):
        raise UnsafePath(rel, f"is {_kind(info.st_mode)}, not a regular file")


def _read(parent: int, rel: str, name: str, limit: int) -> bytes:
    _refuse_non_file(parent, rel, name)
    try:  # O_NONBLOCK: a fifo put in place after the check must not block the open
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                     dir_fd=parent)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafePath(rel, "is a symlink, not a regular file") from None
        raise
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafePath(rel, f"is {_kind(info.st_mode)}, not a regular file")
        if info.st_nlink > 1:
            raise UnsafePath(rel, "has other hard links, which may lie outside the repository")
        if info.st_size > limit:
            raise UnsafePath(rel, f"is {info.st_size} bytes, over the {limit}-byte limit")
        data = handle.read(limit + 1)
    if len(data) > limit:  # grew after the check
        raise UnsafePath(rel, f"is over the {limit}-byte limit")
    return data


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symlink"
    if stat.S_ISDIR(mode):
        return "a directory"
    return "a special file (fifo, socket or device)"
