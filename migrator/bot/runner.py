"""Run a migration over feedstocks: resumable, batched, in parallel, within a budget."""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

from migrator.bot.migrations.base import Migration
from migrator.bot.state import DONE, FAILED, IN_PROGRESS, SKIPPED, STARTED, StateDir
from migrator.bot.steps_plan import FINISHED, STAGED, PlannedStep, advance, finish_staged, plan
from migrator.bot.task import FeedstockTask, Options, RunContext
from migrator.core import failpoints
from migrator.core.errors import MigratorError
from migrator.forges import Forge, RepoInfo

log = logging.getLogger("migrator")


class RunSummary(NamedTuple):
    outcomes: Counter[str]  # done / failed / skipped this run
    untouched: Counter[str]  # already done / failed earlier / skipped earlier
    not_reached: int  # left for a later run by --time-budget or --max-feedstocks
    seconds: float


Progress = Callable[[str, str], None]  # (feedstock, outcome) after each feedstock


def run_migration(
    forge: Forge, migration: Migration, state: StateDir, options: Options, *,
    repos: Iterable[RepoInfo] | None = None, progress: Progress | None = None,
    workroot: Path | None = None,
) -> RunSummary:
    started = time.monotonic()
    listed = repos if repos is not None else forge.list_feedstocks()
    todo, untouched = select_pending(state, listed, options)
    limit = options.max_feedstocks
    not_reached = max(0, len(todo) - limit) if limit is not None else 0
    todo = todo[:limit] if limit is not None else todo
    root = Path(tempfile.mkdtemp(prefix="migrator-", dir=workroot))
    context = RunContext(forge=forge, options=options, workroot=root)
    outcomes: Counter[str] = Counter()
    try:
        if todo and migration.setup is not None:
            migration.setup(context)
        for start in range(0, len(todo), options.batch_size):
            if _out_of_time(started, options):
                not_reached += len(todo) - start
                break
            chunk = todo[start:start + options.batch_size]
            for name, outcome in _run_chunk(context, migration, state, chunk):
                outcomes[outcome] += 1
                if progress is not None:
                    progress(name, outcome)
    finally:
        registry = context.shared.get("registry")
        if registry is not None:
            registry.close()
        shutil.rmtree(root, ignore_errors=True)
    return RunSummary(outcomes, untouched, not_reached, time.monotonic() - started)


def select_pending(
    state: StateDir, repos: Iterable[RepoInfo], options: Options
) -> tuple[list[RepoInfo], Counter[str]]:
    """Feedstocks that need work; a finished one costs one small file read, no forge call."""
    todo, untouched = [], Counter[str]()
    for repo in repos:
        status = state.peek_status(repo)
        if status in (DONE, SKIPPED) or (status == FAILED and not options.retry_failed):
            untouched[status] += 1
        else:
            todo.append(repo)
    return todo, untouched


def _out_of_time(started: float, options: Options) -> bool:
    budget = options.time_budget
    return budget is not None and time.monotonic() - started >= budget


def _run_chunk(
    context: RunContext, migration: Migration, state: StateDir, chunk: list[RepoInfo]
) -> list[tuple[str, str]]:
    tasks = []
    results: list[tuple[str, str]] = []
    for repo in chunk:
        record = state.load(repo)
        if repo.archived:
            record.set_status(SKIPPED, "repository is archived")
            results.append((repo.name, SKIPPED))
            continue
        task = FeedstockTask(context=context, repo=repo, record=record)
        task.memory["retry"] = context.options.retry_failed
        tasks.append(task)
    active = {id(t): t for t in tasks}
    with ThreadPoolExecutor(max_workers=max(1, context.options.jobs)) as pool:
        while active:
            batch = [(t, migration) for t in active.values()]
            outcomes = list(pool.map(_safe_advance, batch))
            staged = [t for t, outcome in outcomes if outcome == STAGED]
            for task, outcome in outcomes:
                if outcome != STAGED:
                    results.append((task.repo.name, _finish(task, outcome)))
                    del active[id(task)]
            if staged:
                _flush(context, migration, staged)
    return results


def _steps(task: FeedstockTask, migration: Migration) -> list[PlannedStep] | None:
    record = task.record
    if "branches" in record.data:
        return plan(migration, record.data["branches"])
    branches = [task.repo.default_branch]
    if task.context.options.all_branches and any(s.per_branch for s in migration.steps):
        try:
            extra = task.forge.branches(task.repo)
        except MigratorError as exc:  # not saved: a retry lists the branches again
            record.record("list-branches", FAILED, f"could not list branches: {exc}")
            return None
        branches += [b for b in extra if b not in branches]
        record.steps.pop("list-branches", None)
    record.data["branches"] = branches
    return plan(migration, branches)


def _safe_advance(item: tuple[FeedstockTask, Migration]) -> tuple[FeedstockTask, str]:
    task, migration = item
    try:
        if task.record.status != IN_PROGRESS:
            task.record.set_status(IN_PROGRESS)
        steps = _steps(task, migration)
        if steps is None:
            return task, FAILED
        return task, advance(task, steps)
    except Exception as exc:  # the one net: a bug in one feedstock must not stop the others
        log.exception("%s: unexpected error", task.repo.name)
        started = [k for k, v in task.record.steps.items() if v.get("status") == STARTED]
        reason = f"unexpected error: {type(exc).__name__}: {exc}"
        if started:
            task.record.record(started[-1], FAILED, reason)
        else:
            task.record.data["crash"] = reason
        return task, FAILED


def _flush(context: RunContext, migration: Migration, staged: list[FeedstockTask]) -> None:
    error = None
    refused: dict[str, str] = {}
    try:
        if migration.flush is not None:
            refused = migration.flush(context)
    except MigratorError as exc:
        error = str(exc)
    if error is None:
        failpoints.reached("flush")
    for task in staged:
        finish_staged(task, error=error or refused.get(task.repo.name))


def _finish(task: FeedstockTask, outcome: str) -> str:
    task.cleanup()
    steps = task.record.steps
    if outcome == FINISHED:
        task.record.set_status(DONE)
        return DONE
    failed = next((k for k, v in steps.items() if v.get("status") == FAILED), "?")
    reason = steps.get(failed, {}).get("detail") or task.record.data.pop("crash", "unknown")
    task.record.set_status(FAILED, f"{failed}: {reason}")
    log.info("%s failed at %s: %s", task.repo.name, failed, reason)
    return FAILED
