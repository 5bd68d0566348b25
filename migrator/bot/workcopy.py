"""A step's change to a feedstock branch: committed and pushed through `publish`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from migrator.bot.task import FeedstockTask
from migrator.forges.publish import publish
from migrator.forges.remotes import ForgeRemote


def commit_and_push(
    task: FeedstockTask[Any, Any], *, edit: Callable[[Path], bool],
    message: str | Callable[[], str],
) -> str | None:
    """Apply `edit` to the task's working copy of its branch, commit and push it (the
    edit is applied again on the new tip when the push loses a race). Returns the new
    commit's sha, or None when there was nothing to commit."""
    return publish(
        task.workdir(), remote=ForgeRemote(task.forge, task.repo.name),
        branch=task.current_branch, edit=edit, message=message,
        secrets=task.context.secrets,
    )
