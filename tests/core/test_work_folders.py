"""A run's work folder, and clearing the folders of runs that were killed."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from migrator.core.pids import alive
from migrator.core.work_folders import WorkFolder

HOLD = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(60)
"""


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not alive(child.pid)
    return child.pid


def test_folders_of_dead_runs_go_and_nothing_else(tmp_path: Path) -> None:
    dead = dead_pid()
    gone = tmp_path / f"migrator-{dead}-abc"  # a killed run's: its lock is free
    (gone / "scratch").mkdir(parents=True)
    (gone / ".in-use").touch()
    running = tmp_path / f"migrator-{os.getppid()}-def"  # no lock file to judge it by
    running.mkdir()
    stale = tmp_path / f".migrator-{dead}-mk"  # a run killed while making its folder
    stale.mkdir()
    os.utime(stale, (time.time() - 120, time.time() - 120))
    making = tmp_path / f".migrator-{os.getppid()}-mk"  # a run making its folder now
    making.mkdir()
    older = tmp_path / "migrator-xyz"  # not named after a process: not ours to judge
    older.mkdir()
    outside = tmp_path / "outside"
    (outside / "keep").mkdir(parents=True)
    link = tmp_path / f"migrator-{dead}-link"
    link.symlink_to(outside, target_is_directory=True)

    work = WorkFolder(tmp_path, "migrator-")

    assert work.path.is_dir() and work.path.name.startswith(f"migrator-{os.getpid()}-")
    assert not gone.exists()
    assert running.is_dir() and older.is_dir()
    assert not stale.exists() and making.is_dir()
    assert link.is_symlink() and (outside / "keep").is_dir()
    work.close()
    assert not work.path.exists()


def test_the_lock_decides_not_the_pid(tmp_path: Path) -> None:
    # a run in another pid namespace: its pid means nothing here, its lock does
    busy = tmp_path / f"migrator-{dead_pid()}-busy"
    busy.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(busy / ".in-use")],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        # a killed run whose pid now names a live process: its lock is free
        abandoned = tmp_path / f"migrator-{os.getppid()}-old"
        abandoned.mkdir()
        (abandoned / ".in-use").touch()

        WorkFolder(tmp_path, "migrator-").close()

        assert busy.is_dir() and not abandoned.exists()
    finally:
        holder.kill()
        holder.wait()
    WorkFolder(tmp_path, "migrator-").close()
    assert not busy.exists()  # its holder is gone


def test_runs_in_one_process_keep_their_own_folders(tmp_path: Path) -> None:
    first = WorkFolder(tmp_path, "migrator-")
    second = WorkFolder(tmp_path, "migrator-")
    assert first.path != second.path and first.path.is_dir() and second.path.is_dir()
    first.close()
    second.close()


def test_the_default_parent_is_the_temporary_folder(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)
    work = WorkFolder(None, "migrator-")
    assert work.path.parent == tmp_path
    work.close()
