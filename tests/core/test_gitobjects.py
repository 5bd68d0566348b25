"""The in-process object layer agrees with git: every object of real packs (offset and
reference deltas) reads back as `git cat-file` shows it; commits and trees written here
pass `git fsck` and read back in git; limits hold before anything large is inflated."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from migrator.core.gitobjects import ObjectError, ObjectStore, ObjectTooLarge, init_scratch
from migrator.core.gittrees import clean_message, commit_tree, edit_tree, write_commit


def git(repo: Path, *args: str, data: bytes | None = None) -> bytes:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
                          cwd=repo, input=data, capture_output=True, check=True).stdout


def history(tmp_path: Path) -> Path:
    """A repository whose versions of similar files delta well against each other."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    base = "".join(f"line {i}: {'x' * (i % 17)}\n" for i in range(400))
    for version in range(6):
        (repo / ".scripts").mkdir(exist_ok=True)
        (repo / ".scripts" / "build_steps.sh").write_text(base + f"version {version}\n")
        (repo / "conda-forge.yml").write_text(f"provider: {{linux: azure}}\n# {version}\n")
        (repo / "run.sh").write_text(base[: 500 + version])
        (repo / "run.sh").chmod(0o755)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", f"v{version}")
    return repo


def every_object(repo: Path) -> list[str]:
    out = git(repo, "cat-file", "--batch-all-objects", "--batch-check=%(objectname)")
    return out.decode().split()


@pytest.mark.parametrize("delta", ["offset", "reference"])
def test_packed_objects_read_back_as_git_shows_them(tmp_path: Path, delta: str) -> None:
    repo = history(tmp_path)
    oids = every_object(repo)
    bare = tmp_path / "scratch"
    init_scratch(bare)
    # offset deltas are what fetch and gc make; without --delta-base-offset pack-objects
    # names each base by id instead
    args = ["pack-objects", "-q", "--window=10", str(bare / "objects" / "pack" / "pack")]
    if delta == "offset":
        args.insert(2, "--delta-base-offset")
    git(repo, *args, data="\n".join(oids).encode() + b"\n")
    verified = git(bare, "verify-pack", "-v", *map(str, (bare / "objects" / "pack").glob("*.idx")))
    assert b"chain length = 1:" in verified  # deltas are in play
    store = ObjectStore(bare)
    for oid in oids:
        kind = git(repo, "cat-file", "-t", oid).decode().strip()
        assert store.read(oid, limit=1 << 20) == (kind, git(repo, "cat-file", kind, oid)), oid


def test_a_blob_over_the_limit_is_refused_before_it_is_inflated(tmp_path: Path) -> None:
    repo = history(tmp_path)
    oid = git(repo, "rev-parse", "HEAD:.scripts/build_steps.sh").decode().strip()
    git(repo, "gc", "-q")
    store = ObjectStore(repo / ".git")
    with pytest.raises(ObjectTooLarge, match="over the 100-byte limit"):
        store.read(oid, limit=100)
    with pytest.raises(ObjectError, match="not in the repository"):
        store.read("0" * 40, limit=100)
    with pytest.raises(ObjectError, match="is not an object id"):
        store.read("../../etc/passwd", limit=100)


def test_a_corrupt_pack_is_an_object_error(tmp_path: Path) -> None:
    repo = history(tmp_path)
    git(repo, "gc", "-q")
    pack = next((repo / ".git" / "objects" / "pack").glob("*.pack"))
    pack.chmod(0o644)
    data = bytearray(pack.read_bytes())
    data[12:-20] = bytes(len(data) - 32)  # every entry zeroed, header and trailer kept
    pack.write_bytes(bytes(data))
    head = git(repo, "rev-parse", "HEAD").decode().strip()
    with pytest.raises(ObjectError):
        ObjectStore(repo / ".git").read(head, limit=1 << 20)


def test_commits_written_in_process_are_sound_to_git(tmp_path: Path) -> None:
    repo = history(tmp_path)
    git(repo, "gc", "-q")
    head = git(repo, "rev-parse", "HEAD").decode().strip()
    store = ObjectStore(repo / ".git")
    tree = edit_tree(store, commit_tree(store, head), {
        "conda-forge.yml": b"conda_forge_output_validation: true\n",  # changed
        "run.sh": b"#!/bin/sh\n",  # changed, stays executable
        ".scripts/build_steps.sh": None,  # deleted: .scripts/ is left empty and goes
        ".azure-pipelines/azure-pipelines-linux.yml": b"jobs: []\n",  # new, in a new folder
    })
    first = write_commit(store, tree, head, "first  \n\n\n\nbody line   \n\n")
    second_tree = edit_tree(store, tree, {"README.md": b"hello\n"})
    second = write_commit(store, second_tree, first, "second")
    store.seal()
    git(repo, "fsck", "--strict", "--no-dangling")
    git(repo, "update-ref", "refs/heads/main", second)
    listing = git(repo, "ls-tree", "-r", "main").decode().splitlines()
    assert [line.split(None, 3)[0::3] for line in listing] == [
        ["100644", ".azure-pipelines/azure-pipelines-linux.yml"], ["100644", "README.md"],
        ["100644", "conda-forge.yml"], ["100755", "run.sh"]]
    assert git(repo, "show", "main~1:run.sh") == b"#!/bin/sh\n"
    assert git(repo, "log", "--format=%an <%ae>|%B", "-1", first).decode() == (
        "conda-forge-admin <pelson.pub+conda-forge@gmail.com>|first\n\nbody line\n\n")
    assert git(repo, "rev-list", "--count", "main").strip() == b"8"


def test_messages_are_cleaned_as_git_commit_cleans_them(tmp_path: Path) -> None:
    repo = tmp_path / "m"
    repo.mkdir()
    git(repo, "init", "-q")
    for message in ("\n\nsubject  \n\n\n\nbody\t\n  indented\n\n", "one line", "a\n \nb\n"):
        git(repo, "commit", "-q", "--allow-empty", "-F", "-", data=message.encode())
        assert git(repo, "log", "-1", "--format=%B").decode() == clean_message(message) + "\n"
