"""Commit a change in a working copy and push it, replaying it if the push loses a race."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from migrator.errors import StepFailed
from migrator.forge import PushRejected
from migrator.gitcmd import git
from migrator.task import FeedstockTask

MAX_PUSH_ATTEMPTS = 5


def has_changes(workdir: Path) -> bool:
    return bool(git("status", "--porcelain", cwd=workdir).strip())


def commit_and_push(
    task: FeedstockTask, *, edit: Callable[[Path], bool], message: str,
) -> str | None:
    """Apply `edit` (returns False when nothing needs changing), commit and push.

    A push is never forced: when someone else pushed first, fetch their tip, reset onto
    it and apply the edit again, which is a rebase of our one commit by construction and
    also notices when the other push already made our change. Returns the new commit's
    sha, or None when there was nothing to commit.
    """
    branch = task.current_branch
    workdir = task.workdir()
    for _ in range(MAX_PUSH_ATTEMPTS):
        if not edit(workdir) or not has_changes(workdir):
            git("reset", "--hard", "-q", cwd=workdir)
            return None
        git("add", "-A", cwd=workdir)
        refuse_leaks(task, workdir, message)
        git("commit", "-q", "--no-verify", "-F", "-", cwd=workdir, input=message.encode())
        sha = git("rev-parse", "HEAD", cwd=workdir).strip()
        try:
            task.forge.push(workdir, task.repo.name, branch)
            return sha
        except PushRejected as exc:
            if not exc.race:
                raise StepFailed(str(exc)) from None
        task.forge.fetch(workdir, task.repo.name, branch)
        git("reset", "--hard", "-q", "FETCH_HEAD", cwd=workdir)
    raise StepFailed(f"{task.repo.name}@{branch} kept moving; gave up after "
                     f"{MAX_PUSH_ATTEMPTS} push attempts")


def refuse_leaks(task: FeedstockTask, workdir: Path, message: str) -> None:
    """Refuse to commit anything that contains a plain token of this run."""
    staged = git("diff", "--cached", "--no-color", "--no-ext-diff", cwd=workdir)
    for secret in task.context.secrets():
        value = secret.reveal()
        if value in staged or value in message:
            git("reset", "--hard", "-q", cwd=workdir)
            raise StepFailed("refused to push: the change contains token material")
