"""Crash-safe writes: a state record is on disk, folder entry included, once saved."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from pytest_mock import MockerFixture

from migrator.bot.state import StateDir
from migrator.core.files import atomic_write_text
from migrator.forges import RepoInfo


def kind(fd: int) -> str:
    return "folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file"


def test_a_durable_write_syncs_the_file_and_its_folder(tmp_path: Path,
                                                       mocker: MockerFixture) -> None:
    seen: list[str] = []
    real = os.fsync
    mocker.patch("os.fsync", side_effect=lambda fd: (seen.append(kind(fd)), real(fd)))
    atomic_write_text(tmp_path / "plain.txt", "a")
    assert seen == []
    atomic_write_text(tmp_path / "kept.txt", "b", durable=True)
    assert seen == ["file", "folder"]
    assert (tmp_path / "kept.txt").read_text() == "b"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_state_record_is_saved_durably(tmp_path: Path, mocker: MockerFixture) -> None:
    seen: list[str] = []
    mocker.patch("os.fsync", side_effect=lambda fd: seen.append(kind(fd)))
    record = StateDir(tmp_path, "output-validation").load(
        RepoInfo(name="abc-feedstock", id=7, default_branch="main", archived=False))
    seen.clear()
    record.record("write-secret", "done", "wrote it")
    assert seen[:2] == ["file", "folder"]
