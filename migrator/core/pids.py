"""Folders a process keeps for itself (`<prefix><pid>`), and clearing those of processes
that are gone: each service process has its own registry clone and scratch space, so
no other process changes them underneath it, and a crash leaves nothing for long.
`alive` also tells a channel's stale partial files from those still being written."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def own_folder(parent: Path, prefix: str) -> Path:
    """`parent/<prefix><this pid>`, after removing those of dead processes."""
    parent.mkdir(parents=True, exist_ok=True)
    for path in parent.glob(f"{prefix}*"):
        pid = path.name[len(prefix):]
        if pid.isdigit() and int(pid) != os.getpid() and not alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
    return parent / f"{prefix}{os.getpid()}"


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, under another user
        pass
    return True
