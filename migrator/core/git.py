"""Running git. Credentials never appear here: callers pass them in the environment."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

# No user config, no prompts, fixed identity: runs are reproducible on any machine.
_BASE_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "conda-forge-admin",
    "GIT_AUTHOR_EMAIL": "pelson.pub+conda-forge@gmail.com",
    "GIT_COMMITTER_NAME": "conda-forge-admin",
    "GIT_COMMITTER_EMAIL": "pelson.pub+conda-forge@gmail.com",
    "LC_ALL": "C",
}


class GitError(Exception):
    def __init__(self, args: list[str], returncode: int, stderr: str) -> None:
        self.returncode = returncode
        self.stderr = stderr.strip()
        last = self.stderr.splitlines()[-1] if self.stderr else f"exit {returncode}"
        super().__init__(f"git {args[0]} failed: {last}")


_CREDENTIAL_WORDS = ("TOKEN", "SECRET", "PASSWORD", "PRIVATE_KEY", "CREDENTIAL")


def scrubbed_env() -> dict[str, str]:
    """The process environment without credentials: child processes (git, a recipe's
    jinja run by conda-smithy) must not be able to read or render them."""
    return {k: v for k, v in os.environ.items()
            if not any(word in k.upper() for word in _CREDENTIAL_WORDS)
            and not k.startswith("GITHUB_APP")}


def git_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in scrubbed_env().items() if not k.startswith("GIT_")}
    env.update(_BASE_ENV)
    if extra:
        env.update(extra)
    return env


def git(
    *args: str, cwd: Path | None = None, env: Mapping[str, str] | None = None,
    input: bytes | None = None,
) -> str:
    return git_bytes(*args, cwd=cwd, env=env, input=input).decode(errors="replace")


def git_bytes(
    *args: str, cwd: Path | None = None, env: Mapping[str, str] | None = None,
    input: bytes | None = None,
) -> bytes:
    """Run git; its output as bytes (file contents are not always text)."""
    proc = subprocess.run(
        ["git", *args], cwd=cwd, env=git_env(env), input=input, capture_output=True,
    )
    if proc.returncode != 0:
        raise GitError(list(args), proc.returncode, proc.stderr.decode(errors="replace"))
    return proc.stdout


def clone_args(branch: str | None, depth: int | None) -> list[str]:
    """`git clone` options for a cheap working copy: one branch, no tags, shallow."""
    args = ["clone", "--quiet", "--no-tags", "--single-branch"]
    if depth is not None:
        args += ["--depth", str(depth)]
    if branch is not None:
        args += ["--branch", branch]
    return args


_RACE_SIGNS = ("fetch first", "non-fast-forward", "cannot lock ref", "failed to update ref",
               "incorrect old value")


def is_push_race(stderr: str) -> bool:
    """True when a push lost to a concurrent one: fetching and replaying can succeed.
    A ref update that overlaps another can also come back as a remote rejection."""
    return ("[rejected]" in stderr or "[remote rejected]" in stderr) and any(
        sign in stderr for sign in _RACE_SIGNS)
