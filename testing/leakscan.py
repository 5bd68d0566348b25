"""Search everything a run could have written for plain tokens."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def git_objects(repo: Path) -> bytes:
    """Every object of a repository, decompressed (loose and packed alike)."""
    return subprocess.run(
        ["git", "cat-file", "--batch-all-objects", "--batch", "--unordered"], cwd=repo,
        capture_output=True, check=True,
    ).stdout


def scan(tokens: Iterable[str], *, trees: Iterable[Path], texts: Iterable[str] = ()) -> list[str]:
    """Return where any token was found: file paths, git objects or captured texts."""
    needles = [t.encode() for t in tokens if t]
    hits: list[str] = []
    for tree in trees:
        for path in tree.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                hits += [f"file {path}" for n in needles if n in data]
            if path.is_dir() and (path / "objects").is_dir() and (path / "HEAD").is_file():
                data = git_objects(path)
                hits += [f"git objects of {path}" for n in needles if n in data]
    for index, text in enumerate(texts):
        hits += [f"captured text #{index}" for n in needles if n.decode() in text]
    return hits


def request_texts(entries: Iterable[Any]) -> list[str]:
    """A test server's logged requests as texts to scan: each one's method, path, query,
    headers and body (entries with those fields, as `testing.azure_server` logs them)."""
    return [f"{e.method} {e.path}?{e.query}\n"
            + "".join(f"{k}: {v}\n" for k, v in e.headers) + f"\n{e.body}" for e in entries]
