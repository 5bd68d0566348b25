"""Hostile feedstocks for tests, and the measures that prove a run survived them.

Builders commit what an attacker would into a local forge's bare repositories (symlinks,
branch names that read as git options); `surroundings` hashes what a run must leave
alone; `TreeMemory` samples the resident memory of this process and its descendants.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

from migrator.core.git import git
from migrator.forges.local import LocalForge


def commit_symlink(forge: LocalForge, repo: str, path: str, target: Path, scratch: Path, *,
                   branch: str = "main") -> None:
    """Replace `path` (a file or a directory) on `branch` by a symlink to `target`."""
    work = scratch / f"{repo}@{branch}"
    git("clone", "-q", f"--branch={branch}", "--", str(forge.git_dir(repo)), str(work))
    link = work / path
    if link.is_dir() and not link.is_symlink():
        shutil.rmtree(link)
    elif link.exists() or link.is_symlink():
        link.unlink()
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, link)
    git("add", "-A", cwd=work)
    git("commit", "-qm", f"{path} is a link now", cwd=work)
    git("push", "-q", "origin", f"HEAD:refs/heads/{branch}", cwd=work)


def add_branch(forge: LocalForge, repo: str, name: str, *, at: str = "main") -> None:
    """A branch called `name` at the tip of `at`; the name goes through stdin, so even a
    name that reads as an option is only ever a ref here."""
    sha = git("rev-parse", "--verify", "--end-of-options", f"refs/heads/{at}",
              cwd=forge.git_dir(repo)).strip()
    git("update-ref", "--stdin", cwd=forge.git_dir(repo),
        input=f"create refs/heads/{name} {sha}\n".encode())


def upload_pack_branch(marker: Path) -> str:
    """A branch name that, handed to `git fetch` as an argument, makes git run
    `touch <marker>` (the shell splits ${IFS}; a ref name may not hold a space)."""
    return f"--upload-pack=touch${{IFS}}{marker}"


def surroundings(root: Path, *, skip: Iterable[str] = ()) -> dict[str, str]:
    """Every file below `root` (or `root` itself, a file) by its sha256; paths starting
    with one of `skip` (relative to `root`) left out. Links are recorded, never followed."""
    skipped = tuple(skip)
    found: dict[str, str] = {}
    paths = [root] if root.is_file() else sorted(root.rglob("*"))
    for path in paths:
        rel = "." if path == root else path.relative_to(root).as_posix()
        if skipped and rel.startswith(skipped):
            continue
        if path.is_symlink():
            found[rel] = "link:" + os.readlink(path)
        elif path.is_file():
            found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def _tree_pids(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo += children.get(pid, [])
    return tree


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


def tree_rss(root: int | None = None) -> int:
    """Resident bytes of process `root` (this one) and all its descendants, now."""
    return sum(_rss(pid) for pid in _tree_pids(os.getpid() if root is None else root))


class TreeMemory:
    """`with TreeMemory() as memory:` samples `tree_rss` until the block ends;
    `memory.peak` is the highest sum seen, `memory.baseline` the sum at the start."""

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.baseline = self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, tree_rss())

    def __enter__(self) -> TreeMemory:
        self.baseline = self.peak = tree_rss()
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, tree_rss())
