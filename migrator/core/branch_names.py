"""Which branch names the bot hands to git: git's own rules, checked in Python.

A branch name comes from whoever can push to a feedstock. `git check-ref-format
--branch` would have to be given the name to judge it; these are its rules (for
refs/heads/<name>), plus no leading '-', so a refused name never reaches a git process.
"""

from __future__ import annotations

import re

from migrator.core.errors import MigratorError


class BadBranch(MigratorError):
    """A branch name the bot refuses to hand to git."""

    code = "bad-branch"


_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")
MAX_BRANCH = 255  # bytes; git has no limit, but GitHub and file systems do


def branch_problem(name: str) -> str | None:
    """Why `name` cannot be a branch, or None: the rules of `git check-ref-format
    --branch` (refs/heads/<name> a valid ref name, no leading '-', not HEAD), checked
    here so that the name is never handed to a git process to be checked."""
    if not name:
        return "it is empty"
    if name.startswith("-"):
        return "it starts with '-'"
    if name in ("HEAD", "@"):
        return f"{name} is not a branch"
    if len(name.encode("utf-8", "surrogateescape")) > MAX_BRANCH:
        return f"it is longer than {MAX_BRANCH} bytes"
    bad = _FORBIDDEN.search(name)
    if bad:
        return f"it contains {bad.group()!r}"
    for sequence in ("..", "@{", "//"):
        if sequence in name:
            return f"it contains {sequence!r}"
    if name.startswith("/") or name.endswith("/"):
        return "it starts or ends with '/'"
    if name.endswith("."):
        return "it ends with '.'"
    for part in name.split("/"):
        if part.startswith("."):
            return f"a part of it starts with '.': {part!r}"
        if part.endswith(".lock"):
            return f"a part of it ends with '.lock': {part!r}"
    return None


def usable_branches(repo: str, names: list[str]) -> list[str]:
    """`names` as listed, when git may be given every one of them; else BadBranch naming
    the first that it may not (a repository holding one is not worked on at all)."""
    for name in names:
        check_branch(name, repo=repo)
    return names


def check_branch(name: str, *, repo: str = "") -> str:
    """`name` when it is a usable branch name; else BadBranch naming it and why."""
    problem = branch_problem(name)
    if problem is not None:
        where = f" of {repo}" if repo else ""
        raise BadBranch(f"branch {name!r}{where} is refused: {problem}")
    return name
