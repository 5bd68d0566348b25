"""Run a migration over feedstocks: resumable, batched, in parallel, within a budget."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from migrator.bot.migrations.model import Migration, Refusals
from migrator.bot.state import DONE, FAILED, IN_PROGRESS, SKIPPED, STARTED, StateDir
from migrator.bot.steps_plan import FINISHED, STAGED, advance, finish_staged
from migrator.bot.task import FeedstockTask, Options, RunContext
from migrator.core import deadline, failpoints
from migrator.core.errors import MigratorError
from migrator.core.work_folders import WorkFolder
from migrator.forges import Forge, RepoInfo
from migrator.forges.ci_secrets import CISecretStore

log = logging.getLogger("migrator")
ARCHIVED = "archived"


class RunSummary(NamedTuple):
    outcomes: Counter[str]  # done / failed / skipped this run
    untouched: Counter[str]  # already done / failed earlier / skipped earlier
    not_reached: int  # left for a later run by --time-budget or --max-feedstocks
    seconds: float


class Progress(Protocol):
    def start(self, total: int, *, untouched: int = 0) -> None: ...

    def __call__(self, feedstock: str, outcome: str) -> None:
        """After each feedstock, as soon as it is finished."""
        ...


def run_migration(
    forge: Forge, migration: Migration[Any, Any], state: StateDir, options: Options, *,
    stores: Mapping[str, CISecretStore] | None = None,
    repos: Iterable[RepoInfo] | None = None, progress: Progress | None = None,
    workroot: Path | None = None,
) -> RunSummary:
    started = time.monotonic()
    listed = repos if repos is not None else forge.list_feedstocks()
    todo, untouched = select_pending(state, listed, options)
    limit = options.max_feedstocks
    not_reached = max(0, len(todo) - limit) if limit is not None else 0
    todo = todo[:limit] if limit is not None else todo
    work = WorkFolder(workroot, "migrator-")
    root = work.path
    context = RunContext(forge=forge, stores=dict(stores or {}), options=options,
                         workroot=root, data=migration.run_data())
    outcomes: Counter[str] = Counter()

    def finished(name: str, outcome: str) -> None:
        outcomes[outcome] += 1
        if progress is not None:
            progress(name, outcome)

    if progress is not None:
        progress.start(len(todo), untouched=sum(untouched.values()))
    try:
        if todo and migration.setup is not None:
            migration.setup(context)
        for start in range(0, len(todo), options.batch_size):
            if _out_of_time(started, options):
                not_reached += len(todo) - start
                break
            _run_chunk(context, migration, state, todo[start:start + options.batch_size],
                       finished)
    finally:
        if migration.close is not None:
            migration.close(context)
        state.compact()
        work.close()
    return RunSummary(outcomes, untouched, not_reached, time.monotonic() - started)


def select_pending(
    state: StateDir, repos: Iterable[RepoInfo], options: Options
) -> tuple[list[RepoInfo], Counter[str]]:
    """Feedstocks that need work; a finished one costs one small file read, no forge call.
    One skipped because it was archived is looked at again once it is not."""
    todo, untouched = [], Counter[str]()
    for repo in repos:
        status, code = state.peek(repo)
        if status == SKIPPED and code == ARCHIVED and not repo.archived:
            todo.append(repo)
        elif status in (DONE, SKIPPED) or (status == FAILED and not options.retry_failed):
            untouched[status] += 1
        else:
            todo.append(repo)
    return todo, untouched


def _out_of_time(started: float, options: Options) -> bool:
    budget = options.time_budget
    return budget is not None and time.monotonic() - started >= budget


def _run_chunk(
    context: RunContext[Any], migration: Migration[Any, Any], state: StateDir,
    chunk: list[RepoInfo], finished: Callable[[str, str], None],
) -> None:
    tasks = []
    for repo in chunk:
        record = state.load(repo)
        if repo.archived:
            record.set_status(SKIPPED, "repository is archived", code=ARCHIVED)
            finished(repo.name, SKIPPED)
            continue
        tasks.append(FeedstockTask(context=context, repo=repo, record=record,
                                   data=migration.feedstock_data(),
                                   retry=context.options.retry_failed))
    active = {id(t): t for t in tasks}
    with ThreadPoolExecutor(max_workers=max(1, context.options.jobs)) as pool:
        while active:
            staged = []
            futures = [pool.submit(_work, t, migration) for t in active.values()]
            for future in as_completed(futures):
                task, outcome = future.result()
                if outcome == STAGED:
                    staged.append(task)
                    continue
                del active[id(task)]
                finished(task.repo.name, outcome)
            if staged:
                _flush(context, migration, staged)


def _plan_branches(task: FeedstockTask[Any, Any], migration: Migration[Any, Any]) -> bool:
    """Record the branches the feedstock's branch steps run on; False when they cannot
    be listed (not saved: a retry lists them again)."""
    record = task.record
    if "branches" in record.data:
        return True
    branches = [task.repo.default_branch]
    if task.context.options.all_branches and any(s.scope == "branch" for s in migration.steps):
        try:
            extra = task.forge.branches(task.repo)
        except MigratorError as exc:
            record.record("list-branches", FAILED, f"could not list branches: {exc}",
                          code=exc.code)
            return False
        branches += [b for b in extra if b not in branches]
        record.steps.pop("list-branches", None)
    record.branches = branches
    return True


def _work(
    task: FeedstockTask[Any, Any], migration: Migration[Any, Any]
) -> tuple[FeedstockTask[Any, Any], str]:
    """Advance a feedstock in a worker, and finish it there when it is through: its
    scratch repository is emptied and its record written while the others go on."""
    task, outcome = _safe_advance(task, migration)
    return (task, outcome) if outcome == STAGED else (task, _finish(task, outcome))


def _safe_advance(
    task: FeedstockTask[Any, Any], migration: Migration[Any, Any]
) -> tuple[FeedstockTask[Any, Any], str]:
    # the feedstock's time limit counts only its own work: not waits for its batch, nor
    # waits for a rate-limited service (deadline.paused)
    limit = task.context.options.feedstock_timeout
    if limit is None:
        return _advance_once(task, migration)
    with deadline.limited(limit - task.spent):
        try:
            return _advance_once(task, migration)
        finally:
            task.spent = limit - (deadline.time_left() or 0.0)


def _advance_once(
    task: FeedstockTask[Any, Any], migration: Migration[Any, Any]
) -> tuple[FeedstockTask[Any, Any], str]:
    try:
        if task.record.status != IN_PROGRESS:
            task.record.set_status(IN_PROGRESS)
        if not _plan_branches(task, migration):
            return task, FAILED
        return task, advance(task, migration)
    except Exception as exc:  # the one net: a bug in one feedstock must not stop the others
        log.exception("%s: unexpected error", task.repo.name)
        started = [k for k, v in task.record.steps.items() if v.get("status") == STARTED]
        reason = f"unexpected error: {type(exc).__name__}: {exc}"
        if started:
            task.record.record(started[-1], FAILED, reason, code="bug")
        else:
            task.record.data["crash"] = reason
        return task, FAILED


def _flush(context: RunContext[Any], migration: Migration[Any, Any],
           staged: list[FeedstockTask[Any, Any]]) -> None:
    error = None
    refused: Refusals = {}
    try:
        if migration.flush is not None:
            refused = migration.flush(context)
    except MigratorError as exc:
        error = str(exc)
    if error is None:
        failpoints.reached("flush")
    for task in staged:
        name = task.repo.name
        finish_staged(task, error=error, refused={
            registry: reasons[name] for registry, reasons in refused.items()
            if name in reasons})


def _finish(task: FeedstockTask[Any, Any], outcome: str) -> str:
    task.cleanup()
    steps = task.record.steps
    if outcome == FINISHED:
        task.record.set_status(DONE, step=next(reversed(steps), ""))
        return DONE
    failed = next((k for k, v in steps.items() if v.get("status") == FAILED), "?")
    item = steps.get(failed, {})
    reason = item.get("detail") or task.record.data.pop("crash", "unknown")
    task.record.set_status(FAILED, f"{failed}: {reason}", code=item.get("code", "bug"),
                           step=failed)
    log.info("%s failed at %s: %s", task.repo.name, failed, reason)
    return FAILED
