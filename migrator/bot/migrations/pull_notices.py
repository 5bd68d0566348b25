"""Telling the authors of open pull requests: once a feedstock's default branch validates
its outputs, a pull request opened before still uploads the old way. Each one against
that branch gets one comment with the steps; the numbers told are kept in the state, so
a resumed or later run never comments twice."""

from __future__ import annotations

from typing import Any

from migrator.bot.migrations.switch_steps import DOCS
from migrator.bot.outcomes import Skip
from migrator.bot.task import FeedstockTask
from migrator.core import templating
from migrator.core.errors import MigratorError
from migrator.feedstock import cfyml

CONFIG = "conda-forge.yml"
TOLD = "told_pulls"


def tell_open_pulls(task: FeedstockTask[Any, Any]) -> str:
    branch = task.repo.default_branch
    pulls = [p for p in task.forge.open_pulls(task.repo.name) if p.base_ref == branch]
    if not pulls:
        raise Skip(f"no open pull request against {branch}")
    told: list[int] = task.record.data.setdefault(TOLD, [])
    body = templating.render("maintainers/open-pull.md.j2", branch=branch, docs=DOCS)
    commented = carried = 0
    for pull in pulls:
        if pull.number in told:
            continue
        if _carries_key(task, pull.head_ref):
            carried += 1
            continue
        task.forge.comment_on_pull(task.repo.name, pull.number, body)
        told.append(pull.number)
        task.record.save()  # one comment per pull request, even if we die right after
        commented += 1
    return (f"commented on {commented} open pull request(s); {carried} already carry "
            f"the key; {len(told)} told in all")


def _carries_key(task: FeedstockTask[Any, Any], ref: str) -> bool:
    raw = task.forge.read_file(task.repo.name, CONFIG, ref=ref)
    if raw is None or len(raw) > 1 << 20:
        return False
    try:
        return cfyml.is_enabled(raw.decode("utf-8"))
    except (UnicodeDecodeError, MigratorError):
        return False
