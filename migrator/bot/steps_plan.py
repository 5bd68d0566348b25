"""Turn a migration's steps into one feedstock's ordered plan, and walk it."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from migrator.bot.migrations.model import Migration, Step
from migrator.bot.outcomes import Skip, StepFailed
from migrator.bot.state import DONE, FAILED, SKIPPED, STARTED, FeedstockRecord
from migrator.bot.task import FeedstockTask
from migrator.core import deadline, failpoints
from migrator.core.errors import MigratorError

log = logging.getLogger("migrator")

STAGED = "staged"
FINISHED = "finished"
TIME_LIMIT = "time-limit"  # the reason code of a feedstock that ran past --feedstock-timeout


class PlannedStep(NamedTuple):
    key: str  # "set-config@main" for branch steps, "write-secret@azure" for provider steps
    step: Step[Any, Any]
    branch: str | None
    provider: str | None


def plan(migration: Migration[Any, Any], record: FeedstockRecord) -> list[PlannedStep]:
    """Every step for this feedstock. Provider steps appear once the feedstock's
    providers are known (a step before them records them)."""
    planned = []
    for step in migration.steps:
        if step.scope == "branch":
            planned += [PlannedStep(f"{step.name}@{b}", step, b, None) for b in record.branches]
        elif step.scope == "provider":
            planned += [PlannedStep(f"{step.name}@{p}", step, None, p)
                        for p in record.providers]
        else:
            planned.append(PlannedStep(step.name, step, None, None))
    return planned


def advance(task: FeedstockTask[Any, Any], migration: Migration[Any, Any]) -> str:
    """Run steps from the first unfinished one. Returns STAGED when batched steps have
    staged their writes (the caller flushes the batch, then calls `finish_staged`),
    FINISHED when no step is left, FAILED when a step failed. Batched steps that follow
    each other stage together, so that one flush carries them (`_joins_flush`)."""
    record = task.record
    index = 0
    while True:
        steps = plan(migration, record)
        if index >= len(steps):
            return STAGED if task.staged else FINISHED
        planned = steps[index]
        key, step = planned.key, planned.step
        status = record.step_status(key)
        if status in (DONE, SKIPPED):
            index += 1
            continue
        if task.staged and not _joins_flush(task, planned):
            return STAGED
        if status == FAILED and not task.retry:
            return _failed(task)
        needs = step.needs
        if needs is not None and not needs.present(task.data, planned.provider):
            producer = _producer(steps, needs.name, planned.provider)
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
        if deadline.expired():
            record.record(key, FAILED, _over_time(task, "not started"), code=TIME_LIMIT)
            return _failed(task)
        task.branch, task.provider = planned.branch, planned.provider
        record.record(key, STARTED)
        started = time.perf_counter()
        try:
            detail = step.run(task) or ""
        except Skip as exc:  # decided before any effect: saved with the next write
            record.record(key, SKIPPED, str(exc), save=False)
            log.debug("%s: %s skipped after %.2f s: %s", task.repo.name, key,
                      time.perf_counter() - started, exc)
            index += 1
            continue
        except MigratorError as exc:  # any layer's reason: forge, registry, feedstock...
            if deadline.expired():  # the step's own bound ended it: the limit is the reason
                record.record(key, FAILED, _over_time(task, str(exc)), code=TIME_LIMIT)
            else:
                record.record(key, FAILED, str(exc), code=exc.code)
            log.debug("%s: %s failed after %.2f s [%s]: %s", task.repo.name, key,
                      time.perf_counter() - started, exc.code, exc)
            return _failed(task)
        seconds = round(time.perf_counter() - started, 3)
        log.debug("%s: %s %s in %.2f s: %s", task.repo.name, key,
                  "staged" if step.batched else "done", seconds, detail)
        if step.batched:
            # in memory only: a run killed before the batch is committed stages it again
            record.record(key, STAGED, detail, seconds=seconds, save=False)
            task.staged[key] = step.writes
            failpoints.reached(f"{key}.staged")
            index += 1
            continue
        record.record(key, DONE, detail, seconds=seconds, save=step.effect)
        failpoints.reached(key)
        if planned.branch is not None and not _more_for_branch(steps, index, planned.branch):
            task.forget_tip(planned.branch)
        index += 1


def finish_staged(task: FeedstockTask[Any, Any], *, error: str | None,
                  refused: Mapping[str, str] = MappingProxyType({}),
                  code: str = "registry") -> None:
    """Record the staged steps once flushed: failed with `error` (the whole flush
    failed) or with the reason their registry `refused` the feedstock, done otherwise."""
    staged, task.staged = task.staged, {}
    for key, registry in staged.items():
        reason = error or refused.get(registry)
        if reason is None:
            detail = task.record.steps[key].get("detail", "")
            task.record.record(key, DONE, detail)
            failpoints.reached(key)
        else:
            task.retry = False  # one retry per run, not a loop
            task.record.record(key, FAILED, reason, code=code)


def _joins_flush(task: FeedstockTask[Any, Any], planned: PlannedStep) -> bool:
    """Whether a step may stage beside the steps already staged: a batched step that
    needs no product (a restart from its producer would drop what is staged) and
    writes to a registry none of them writes to (a registry refuses a feedstock, not
    a step, so a refusal must name one staged step)."""
    step = planned.step
    return (step.batched and step.needs is None and bool(step.writes)
            and step.writes not in task.staged.values())


def _failed(task: FeedstockTask[Any, Any]) -> str:
    """FAILED; or STAGED while writes are staged: they are flushed and recorded first,
    and the failure is met again (not retried) in the next round."""
    if not task.staged:
        return FAILED
    task.retry = False
    return STAGED


def _over_time(task: FeedstockTask[Any, Any], detail: str) -> str:
    limit = task.context.options.feedstock_timeout or 0
    return f"ran past the feedstock's time limit of {limit:g} s ({detail})"


def _producer(steps: list[PlannedStep], product: str, provider: str | None) -> PlannedStep:
    for planned in steps:
        made = planned.step.makes
        if made is not None and made.name == product and planned.provider == provider:
            return planned
    raise StepFailed(f"internal: no step makes {product!r}")


def _more_for_branch(steps: list[PlannedStep], index: int, branch: str) -> bool:
    return any(p.branch == branch for p in steps[index + 1:])
