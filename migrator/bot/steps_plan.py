"""Turn a migration's steps into one feedstock's ordered plan, and walk it."""

from __future__ import annotations

import logging
import time
from typing import NamedTuple

from migrator.bot.migrations.base import Migration, Step
from migrator.bot.outcomes import Skip, StepFailed
from migrator.bot.state import DONE, FAILED, SKIPPED, STARTED
from migrator.bot.task import FeedstockTask
from migrator.core import failpoints
from migrator.core.errors import MigratorError

log = logging.getLogger("migrator")

STAGED = "staged"
FINISHED = "finished"


class PlannedStep(NamedTuple):
    key: str  # "set-config@main" for per-branch steps
    step: Step
    branch: str | None


def plan(migration: Migration, branches: list[str]) -> list[PlannedStep]:
    planned = []
    for step in migration.steps:
        if step.per_branch:
            planned += [PlannedStep(f"{step.name}@{b}", step, b) for b in branches]
        else:
            planned.append(PlannedStep(step.name, step, None))
    return planned


def advance(task: FeedstockTask, steps: list[PlannedStep]) -> str:
    """Run steps from the first unfinished one. Returns STAGED when a batched step has
    staged its write (the caller flushes the batch, then calls `finish_staged`), FINISHED
    when no step is left, FAILED when a step failed."""
    record = task.record
    index = 0
    while index < len(steps):
        key, step, branch = steps[index]
        status = record.step_status(key)
        if status in (DONE, SKIPPED):
            index += 1
            continue
        if status == FAILED and not task.memory.get("retry", False):
            return FAILED
        if status == STAGED:  # staged but never flushed: the write did not happen
            status = None
        if step.needs and step.needs not in task.memory:
            producer = _producer(steps, step.needs)
            if record.step_status(producer.key) == SKIPPED:
                record.record(key, SKIPPED, record.steps[producer.key].get("detail", ""))
                index += 1
                continue
            # the product (a plain token) died with an earlier process: start over there
            for later in steps[steps.index(producer):index + 1]:
                record.steps.pop(later.key, None)
            record.save()
            index = steps.index(producer)
            continue
        task.branch = branch
        record.record(key, STARTED)
        started = time.perf_counter()
        try:
            detail = step.run(task) or ""
        except Skip as exc:
            record.record(key, SKIPPED, str(exc))
            index += 1
            continue
        except MigratorError as exc:  # any layer's reason: forge, registry, feedstock...
            record.record(key, FAILED, str(exc))
            return FAILED
        seconds = round(time.perf_counter() - started, 3)
        if step.batched:
            record.record(key, STAGED, detail, seconds=seconds)
            task.memory["staged"] = key
            failpoints.reached(f"{key}.staged")
            return STAGED
        record.record(key, DONE, detail, seconds=seconds)
        failpoints.reached(key)
        if step.per_branch and not _more_for_branch(steps, index, branch):
            task.drop_workdir(branch or "")
        index += 1
    return FINISHED


def finish_staged(task: FeedstockTask, *, error: str | None) -> None:
    key = task.memory.pop("staged")
    if error is None:
        detail = task.record.steps[key].get("detail", "")
        task.record.record(key, DONE, detail)
        failpoints.reached(key)
    else:
        task.memory["retry"] = False  # one retry per run, not a loop
        task.record.record(key, FAILED, error)


def _producer(steps: list[PlannedStep], product: str) -> PlannedStep:
    for planned in steps:
        if planned.step.makes == product:
            return planned
    raise StepFailed(f"internal: no step makes {product!r}")


def _more_for_branch(steps: list[PlannedStep], index: int, branch: str | None) -> bool:
    return any(p.branch == branch for p in steps[index + 1:])
