"""A run's private work folder, and clearing the folders of runs that were killed.

`<prefix><pid>-<random>/` holds a lock file that the run keeps locked (flock) for as
long as it works there. The kernel drops the lock when the process ends, however it
ends, so a folder whose lock can be taken belongs to nobody: the next run removes it.
The lock, not the pid (which names the folder for people only), decides: a pid means
nothing to a process in another pid namespace (two containers sharing one temporary
folder). A folder is made as `.<prefix>...` and renamed once locked, so no run ever
sees the unlocked lock of a live one; one left under its making name (a run killed in
those microseconds) is removed once it is a minute old.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import stat
import tempfile
import time
from pathlib import Path

_LOCK = ".in-use"
_MAKING_SECONDS = 60.0


class WorkFolder:
    """A new folder `<prefix><this pid>-<random>` in `parent` (default: the system's
    temporary folder), made after removing abandoned ones that this user owns.
    `close()` removes it."""

    def __init__(self, parent: Path | None, prefix: str) -> None:
        base = Path(parent if parent is not None else tempfile.gettempdir())
        for pattern in (f"{prefix}*-*", f".{prefix}*-*"):
            for path in base.glob(pattern):
                _remove_if_abandoned(path)
        making = Path(tempfile.mkdtemp(prefix=f".{prefix}{os.getpid()}-", dir=base))
        self._lock = os.open(making / _LOCK, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        self.path = making.with_name(making.name[1:])
        making.rename(self.path)

    def close(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        os.close(self._lock)


def _remove_if_abandoned(path: Path) -> None:
    try:
        info = path.lstat()
    except OSError:
        return
    # never a link (its target is not ours to remove), never another user's folder
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        return
    try:
        lock = os.open(path / _LOCK, os.O_RDWR | os.O_NOFOLLOW)
    except FileNotFoundError:  # only a folder being made has none
        if path.name.startswith(".") and time.time() - info.st_mtime > _MAKING_SECONDS:
            shutil.rmtree(path, ignore_errors=True)
        return
    except OSError:  # a link where the lock should be: not a folder of ours
        return
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(lock)
        return  # a run is working there
    try:
        shutil.rmtree(path, ignore_errors=True)
    finally:
        os.close(lock)
