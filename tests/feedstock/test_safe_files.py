"""Hostile working copies: symlinks, special files, hard links and oversized files are
refused, and nothing outside the working copy is read or changed."""

from __future__ import annotations

import hashlib
import os
import subprocess
import threading
from pathlib import Path

import pytest

from migrator.feedstock.commit_files import CommitFiles
from migrator.feedstock.safe_files import (
    UnsafePath,
    list_feedstock_dir,
    read_feedstock_file,
    remove_feedstock_file,
    write_feedstock_file,
)

SECRET = b"outside: not the repository's to read\n"


def snapshot(root: Path) -> dict[str, str]:
    """Every entry under `root` with its kind and content (or link target) hashed."""
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_symlink():
            found[str(path)] = "link " + os.readlink(path)
        elif path.is_file():
            found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            found[str(path)] = "dir"
    return found


@pytest.fixture
def world(tmp_path: Path) -> tuple[Path, Path]:
    """A working copy `clone/` beside files it must never reach, `outside/`."""
    outside = tmp_path / "outside"
    (outside / "dir").mkdir(parents=True)
    (outside / "secret.yml").write_bytes(SECRET)
    (outside / "dir" / "meta.yaml").write_bytes(b"package:\n  name: leaked-name\n")
    clone = tmp_path / "clone"
    clone.mkdir()
    return tmp_path, clone


def test_plain_files_are_read_and_written(world: tuple[Path, Path]) -> None:
    _, clone = world
    assert read_feedstock_file(clone, "conda-forge.yml", limit=100) is None
    write_feedstock_file(clone, "recipe/meta.yaml", b"package: {}\n")
    assert read_feedstock_file(clone, "recipe/meta.yaml", limit=100) == b"package: {}\n"
    write_feedstock_file(clone, ".scripts/build.sh", b"#!/bin/sh\n", mode=0o755)
    assert (clone / ".scripts/build.sh").stat().st_mode & 0o777 == 0o755
    assert list_feedstock_dir(clone, ".scripts") == ["build.sh"]
    assert list_feedstock_dir(clone, ".ci_support") is None
    assert [p.name for p in (clone / "recipe").iterdir()] == ["meta.yaml"]  # no temp left


def test_a_symlinked_config_is_neither_read_nor_rewritten(world: tuple[Path, Path]) -> None:
    tmp, clone = world
    (clone / "conda-forge.yml").symlink_to(tmp / "outside" / "secret.yml")
    before = snapshot(tmp / "outside")
    with pytest.raises(UnsafePath, match=r"^conda-forge\.yml: is a symlink"):
        read_feedstock_file(clone, "conda-forge.yml", limit=1 << 20)
    with pytest.raises(UnsafePath, match=r"^conda-forge\.yml: is a symlink"):
        write_feedstock_file(clone, "conda-forge.yml", b"conda_forge_output_validation: true\n")
    assert snapshot(tmp / "outside") == before
    assert (tmp / "outside" / "secret.yml").read_bytes() == SECRET
    assert remove_feedstock_file(clone, "conda-forge.yml")  # the link goes, not its target
    assert (tmp / "outside" / "secret.yml").read_bytes() == SECRET


@pytest.mark.parametrize("link", ["recipe", ".ci_support"])
def test_a_symlinked_directory_is_refused_at_any_depth(world: tuple[Path, Path],
                                                      link: str) -> None:
    tmp, clone = world
    (clone / link).symlink_to(tmp / "outside" / "dir")
    before = snapshot(tmp)
    with pytest.raises(UnsafePath) as info:
        read_feedstock_file(clone, f"{link}/meta.yaml", limit=1 << 20)
    assert str(info.value) == f"{link}/meta.yaml: {link} is a symlink or not a directory"
    with pytest.raises(UnsafePath):
        write_feedstock_file(clone, f"{link}/meta.yaml", b"x")
    with pytest.raises(UnsafePath):
        write_feedstock_file(clone, f"{link}/new/deeper.yaml", b"x")
    with pytest.raises(UnsafePath):
        list_feedstock_dir(clone, link)
    assert snapshot(tmp) == before


def test_a_link_deeper_down_is_refused_too(world: tuple[Path, Path]) -> None:
    tmp, clone = world
    (clone / "a" / "b").mkdir(parents=True)
    (clone / "a" / "b" / "c").symlink_to(tmp / "outside")
    with pytest.raises(UnsafePath, match=r"^a/b/c/secret\.yml: a/b/c is a symlink"):
        read_feedstock_file(clone, "a/b/c/secret.yml", limit=1 << 20)


def test_a_relative_link_inside_the_copy_is_refused(world: tuple[Path, Path]) -> None:
    _, clone = world
    (clone / "real.yml").write_bytes(b"a: 1\n")
    (clone / "conda-forge.yml").symlink_to("real.yml")
    with pytest.raises(UnsafePath, match="symlink"):
        read_feedstock_file(clone, "conda-forge.yml", limit=100)


def test_size_limit(world: tuple[Path, Path]) -> None:
    _, clone = world
    (clone / "conda-forge.yml").write_bytes(b"#" * 2049)
    with pytest.raises(UnsafePath) as info:
        read_feedstock_file(clone, "conda-forge.yml", limit=2048)
    assert str(info.value) == "conda-forge.yml: is 2049 bytes, over the 2048-byte limit"
    assert read_feedstock_file(clone, "conda-forge.yml", limit=2049) == b"#" * 2049


def test_a_fifo_is_refused_without_blocking(world: tuple[Path, Path]) -> None:
    _, clone = world
    os.mkfifo(clone / "conda-forge.yml")
    outcome: list[BaseException] = []

    def read() -> None:
        try:
            read_feedstock_file(clone, "conda-forge.yml", limit=100)
        except BaseException as exc:
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=5)
    assert not reader.is_alive()
    assert isinstance(outcome[0], UnsafePath) and "special file" in str(outcome[0])


def test_a_hard_link_is_refused(world: tuple[Path, Path]) -> None:
    tmp, clone = world
    os.link(tmp / "outside" / "secret.yml", clone / "conda-forge.yml")
    with pytest.raises(UnsafePath, match="hard links"):
        read_feedstock_file(clone, "conda-forge.yml", limit=100)


def test_a_directory_where_a_file_belongs_is_refused(world: tuple[Path, Path]) -> None:
    _, clone = world
    (clone / "conda-forge.yml").mkdir()
    with pytest.raises(UnsafePath, match="is a directory"):
        read_feedstock_file(clone, "conda-forge.yml", limit=100)
    with pytest.raises(UnsafePath, match="is a directory"):
        write_feedstock_file(clone, "conda-forge.yml", b"x")


@pytest.mark.parametrize("rel", ["../outside/secret.yml", "/etc/passwd", "a//b", "a/./b",
                                 "", "recipe/", "a\\..\\b", "x\0y"])
def test_only_plain_relative_paths(world: tuple[Path, Path], rel: str) -> None:
    _, clone = world
    with pytest.raises(UnsafePath, match="not a plain relative path"):
        read_feedstock_file(clone, rel, limit=100)
    with pytest.raises(UnsafePath, match="not a plain relative path"):
        write_feedstock_file(clone, rel, b"x")


def git(repo: Path, *args: str, data: bytes | None = None) -> str:
    return subprocess.run(["git", *args], cwd=repo, input=data, capture_output=True,
                          check=True).stdout.decode()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A committed tree with the hostile shapes git itself can hold."""
    work = tmp_path / "repo"
    work.mkdir()
    git(work, "init", "-q")
    (work / "conda-forge.yml").symlink_to("/etc/passwd")
    (work / "recipe").symlink_to("../elsewhere")
    (work / ".ci_support").mkdir()
    (work / ".ci_support" / "linux_64_.yaml").write_bytes(b"target_platform: [linux-64]\n")
    (work / ".ci_support" / "evil.yaml").symlink_to("/etc/shadow")
    (work / "big.yaml").write_bytes(b"a" * 5000)
    (work / "run.sh").write_bytes(b"#!/bin/sh\n")
    (work / "run.sh").chmod(0o755)
    (work / "[glob]").write_bytes(b"literal name\n")
    git(work, "add", "-A")
    git(work, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "x")
    return work


def test_git_tree_entries_that_are_not_plain_files_are_refused(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD").strip()
    files = CommitFiles(repo / ".git", head)
    with pytest.raises(UnsafePath, match=r"^conda-forge\.yml: is a symlink, not a regular"):
        files.read("conda-forge.yml", limit=1 << 20)
    # a committed link on the way is refused, as it is in a working copy
    with pytest.raises(UnsafePath, match="^recipe/meta.yaml: recipe is a symlink"):
        files.read("recipe/meta.yaml", limit=1 << 20)
    with pytest.raises(UnsafePath, match=r"^\.ci_support: is a directory"):
        files.read(".ci_support", limit=1 << 20)
    with pytest.raises(UnsafePath, match="5000 bytes, over the 4096-byte limit"):
        files.read("big.yaml", limit=4096)
    assert files.read("run.sh", limit=100) == b"#!/bin/sh\n"
    assert files.entry("run.sh").mode == "100755"  # type: ignore[union-attr]
    assert files.read("[glob]", limit=100) == b"literal name\n"
    assert files.read("[gl]ob]", limit=100) is None
    assert files.list_dir(".ci_support") == ["linux_64_.yaml"]
    assert files.list_dir("absent") is None
    assert files.paths() == [".ci_support/evil.yaml", ".ci_support/linux_64_.yaml",
                             "[glob]", "big.yaml", "conda-forge.yml", "recipe", "run.sh"]
    with pytest.raises(UnsafePath):
        files.read("../x", limit=100)
