"""Changing a local forge's repositories by hand, as a maintainer or an admin would."""

from __future__ import annotations

from pathlib import Path

from migrator.core.git import git
from migrator.forges.local import LocalForge


def commit_file(forge: LocalForge, repo: str, path: str, text: str, scratch: Path) -> None:
    work = scratch / repo
    git("clone", "-q", str(forge.git_dir(repo)), str(work))
    (work / path).parent.mkdir(parents=True, exist_ok=True)
    (work / path).write_text(text)
    git("add", "-A", cwd=work)
    git("commit", "-qm", "hand edit", cwd=work)
    git("push", "-q", "origin", "HEAD:main", cwd=work)
