"""Work folders named after their process, and clearing those of processes gone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from migrator.core.pids import alive, fresh_folder


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not alive(child.pid)
    return child.pid


def test_a_fresh_folder_clears_those_of_dead_processes_only(tmp_path: Path) -> None:
    dead = dead_pid()
    gone = tmp_path / f"migrator-{dead}-abc"
    (gone / "scratch").mkdir(parents=True)
    running = tmp_path / f"migrator-{os.getppid()}-def"  # the parent of this process
    running.mkdir()
    older = tmp_path / "migrator-xyz"  # not named after a process: not ours to judge
    older.mkdir()
    outside = tmp_path / "outside"
    (outside / "keep").mkdir(parents=True)
    link = tmp_path / f"migrator-{dead}-link"
    link.symlink_to(outside, target_is_directory=True)

    made = fresh_folder(tmp_path, "migrator-")

    assert made.is_dir() and made.name.startswith(f"migrator-{os.getpid()}-")
    assert not gone.exists()
    assert running.is_dir() and older.is_dir()
    assert link.is_symlink() and (outside / "keep").is_dir()
    # another run in this process gets a folder of its own
    assert fresh_folder(tmp_path, "migrator-") != made and made.is_dir()


def test_the_default_parent_is_the_temporary_folder(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", None)
    assert fresh_folder(None, "migrator-").parent == tmp_path
