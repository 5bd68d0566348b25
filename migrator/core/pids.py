"""Folders a process keeps for itself (`<prefix><pid>`, or `<prefix><pid>-<random>` for
one of several), and clearing those of processes that are gone: each service process
has its own registry clone and scratch space, and each migration run its own work
folder, so no other process changes them underneath it, and a crash (a killed job, a
lost runner) leaves nothing for long. `alive` also tells a channel's stale partial
files from those still being written."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def own_folder(parent: Path, prefix: str) -> Path:
    """`parent/<prefix><this pid>`, after removing those of dead processes."""
    parent.mkdir(parents=True, exist_ok=True)
    for path in parent.glob(f"{prefix}*"):
        pid = path.name[len(prefix):]
        if pid.isdigit() and int(pid) != os.getpid() and not alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
    return parent / f"{prefix}{os.getpid()}"


def fresh_folder(parent: Path | None, prefix: str) -> Path:
    """A new folder `<prefix><this pid>-<random>` in `parent` (default: the system's
    temporary folder), after removing those of dead processes that this user owns."""
    base = Path(parent if parent is not None else tempfile.gettempdir())
    for path in base.glob(f"{prefix}*-*"):
        pid = path.name[len(prefix):].partition("-")[0]
        if pid.isdigit() and int(pid) != os.getpid() and not alive(int(pid)):
            _remove_own_folder(path)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=base))


def _remove_own_folder(path: Path) -> None:
    try:
        info = path.lstat()
    except OSError:
        return
    # never a link (its target is not ours to remove), never another user's folder
    if path.is_symlink() or not path.is_dir() or info.st_uid != os.getuid():
        return
    shutil.rmtree(path, ignore_errors=True)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, under another user
        pass
    return True
