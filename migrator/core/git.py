"""Running git, and the argument lists that reach a remote.

Credentials never appear here: callers pass them in the environment. Branch names come
from strangers' repositories, so none reaches git before `branch_names.check_branch`
accepted it, and every command that takes one puts it after `--end-of-options` (or `--`)
and behind a `refs/heads/` prefix: a name can never become an option. Every git process
ends within a timeout, shortened to what the current feedstock has left (`deadline`).
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping
from pathlib import Path

from migrator.core import deadline
from migrator.core.branch_names import check_branch

IDENTITY = ("conda-forge-admin", "pelson.pub+conda-forge@gmail.com")  # who commits
# No user config, no prompts, fixed identity: runs are reproducible on any machine.
_BASE_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": IDENTITY[0],
    "GIT_AUTHOR_EMAIL": IDENTITY[1],
    "GIT_COMMITTER_NAME": IDENTITY[0],
    "GIT_COMMITTER_EMAIL": IDENTITY[1],
    "LC_ALL": "C",
}
# longest a single git command may run (a clone of a large feedstock over a slow link)
GIT_TIMEOUT = 600.0


class GitError(Exception):
    def __init__(self, args: list[str], returncode: int, stderr: str) -> None:
        self.returncode = returncode
        self.stderr = stderr.strip()
        last = self.stderr.splitlines()[-1] if self.stderr else f"exit {returncode}"
        super().__init__(f"git {args[0]} failed: {last}")


class GitTimeout(GitError):
    """The command ran past its timeout and was killed with its children."""

    def __init__(self, args: list[str], seconds: float) -> None:
        super().__init__(args, -signal.SIGKILL, f"took longer than {round(seconds, 1):g} s")


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
    input: bytes | None = None, timeout: float = GIT_TIMEOUT,
) -> str:
    return git_bytes(*args, cwd=cwd, env=env, input=input,
                     timeout=timeout).decode(errors="replace")


def git_bytes(
    *args: str, cwd: Path | None = None, env: Mapping[str, str] | None = None,
    input: bytes | None = None, timeout: float = GIT_TIMEOUT,
) -> bytes:
    """Run git; its output as bytes (file contents are not always text)."""
    limit = deadline.cap(timeout)
    # its own process group, so a timeout also ends the helpers git started (remote
    # helpers, upload-pack); stdin closed, so git never waits on ours
    with subprocess.Popen(
        ["git", *args], cwd=cwd, env=git_env(env), start_new_session=True,
        stdin=subprocess.DEVNULL if input is None else subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    ) as proc:
        try:
            out, err = proc.communicate(input, timeout=limit)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            proc.communicate()
            raise GitTimeout(list(args), limit) from None
        except BaseException:  # interrupted: its own session would not see the ^C
            _kill_group(proc)
            raise
    if proc.returncode != 0:
        raise GitError(list(args), proc.returncode, err.decode(errors="replace"))
    return out


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


# -- commands that take a branch or a remote ---------------------------------------------
def clone_args(branch: str | None, depth: int | None, url: str, dest: Path) -> list[str]:
    """`git clone` of a cheap working copy: one branch, no tags, shallow."""
    args = ["clone", "--quiet", "--no-tags", "--single-branch"]
    if depth is not None:
        args.append(f"--depth={depth}")
    if branch is not None:
        args.append(f"--branch={check_branch(branch)}")
    return [*args, "--", url, str(dest)]


def fetch_args(url: str, branch: str, depth: int | None) -> list[str]:
    """`git fetch` of one branch into FETCH_HEAD."""
    args = ["fetch", "--quiet", "--no-tags"]
    if depth is not None:
        args.append(f"--depth={depth}")
    return [*args, "--end-of-options", url, f"refs/heads/{check_branch(branch)}"]


def push_args(url: str, branch: str) -> list[str]:
    """`git push` of HEAD to a branch, never forced."""
    return ["push", "--quiet", "--end-of-options", url,
            f"HEAD:refs/heads/{check_branch(branch)}"]


_RACE_SIGNS = ("fetch first", "non-fast-forward", "cannot lock ref", "failed to update ref",
               "incorrect old value")


def is_push_race(stderr: str) -> bool:
    """True when a push lost to a concurrent one: fetching and replaying can succeed.
    A ref update that overlaps another can also come back as a remote rejection."""
    return ("[rejected]" in stderr or "[remote rejected]" in stderr) and any(
        sign in stderr for sign in _RACE_SIGNS)
