"""`migrator run`: a migration over the forge's feedstocks."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from migrator.bot import migrations, run_history
from migrator.bot import run_report as report
from migrator.bot.cli_options import common_options, duration, hours, index_part, positive, select
from migrator.bot.migrations.model import Migration
from migrator.bot.progress import ProgressReporter
from migrator.bot.runner import run_migration
from migrator.bot.state import StateDir
from migrator.bot.task import RENDERERS, Options
from migrator.core.errors import UserError
from migrator.forges import Forge
from migrator.forges.choose import (
    add_store_options,
    open_forge,
    open_stores,
)
from migrator.forges.ci_secrets import CISecretStore
from migrator.forges.dryrun import DryRunForge, DryRunStore
from migrator.forges.pacing import Pacer
from migrator.rerender import get_renderer

MIN_GRACE_HOURS = 6.0


def add_run_command(commands: Any) -> None:
    names = ", ".join(sorted(migrations.MIGRATIONS))
    run = commands.add_parser(
        "run", help="run a migration over the forge's feedstocks",
        description=f"Run a migration ({names}). Every step's outcome is recorded in the "
                    "state directory before the next begins; run again to resume.",
    )
    run.add_argument("migration", choices=sorted(migrations.MIGRATIONS), metavar="MIGRATION",
                     help=f"one of: {names}")
    common_options(run)
    add_store_options(run)
    run.add_argument("--all-branches", action="store_true",
                     help="also migrate maintenance branches, not just the default branch")
    run.add_argument("--retry-failed", action="store_true",
                     help="retry feedstocks whose last attempt failed")
    run.add_argument("--jobs", type=positive, default=4,
                     help="feedstocks in parallel (default: 4)")
    run.add_argument("--batch-size", type=positive, default=50,
                     help="feedstocks per token-registry commit (default: 50)")
    run.add_argument("--renderer", choices=RENDERERS, default="patch",
                     help="patch: only the validation edits (default); auto: the patch, "
                          "and a full conda-smithy rerender for layouts it does not "
                          "recognise; conda-smithy; none")
    run.add_argument("--max-render-lines", type=positive, default=3000,
                     help="largest full conda-smithy rerender committed, in changed lines "
                          "(default: 3000)")
    run.add_argument("--grace", type=hours, default=6.5,
                     help="hours old tokens stay valid after a new one is verified "
                          "(default: 6.5, the longest CI job; at least 6)")
    run.add_argument("--force-short-grace", action="store_true",
                     help="allow a --grace below 6 hours")
    run.add_argument("--generation", type=positive, default=1,
                     help="rotate-tokens: which rotation this is (each has its own state; "
                          "default: 1)")
    run.add_argument("--time-budget", type=duration, default=None,
                     help="stop starting feedstocks after this long, e.g. 45m or 2h")
    run.add_argument("--feedstock-timeout", type=duration, default=300.0,
                     help="a feedstock whose steps take longer fails with reason code "
                          "time-limit and the run goes on (default: 5m)")
    run.add_argument("--max-feedstocks", type=positive, default=None,
                     help="work on at most this many feedstocks in this run")
    run.add_argument("--dry-run", action="store_true",
                     help="read from the forge but only print the changes a run would make "
                          "(the state directory is not touched)")
    run.add_argument("--only", nargs="+", metavar="FEEDSTOCK",
                     help="only these feedstocks (names with or without -feedstock)")
    run.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    # every option is checked before the first side effect
    migration = migrations.get(args.migration, generation=args.generation)
    if args.grace < MIN_GRACE_HOURS and not args.force_short_grace:
        raise UserError(f"--grace {args.grace:g} is shorter than the longest CI job "
                        f"({MIN_GRACE_HOURS} h): builds holding the old token could not "
                        "publish; add --force-short-grace if you mean it")
    forge = open_forge(args)
    stores = open_stores(args, forge)
    state = StateDir(args.state, migration.name, part=index_part(args))
    options = Options(
        all_branches=args.all_branches, retry_failed=args.retry_failed, jobs=args.jobs,
        batch_size=args.batch_size, grace_seconds=args.grace * 3600,
        renderer=args.renderer, time_budget=args.time_budget,
        max_feedstocks=args.max_feedstocks, max_render_lines=args.max_render_lines,
        feedstock_timeout=args.feedstock_timeout,
        run_id=state.run_id() if not args.dry_run else "dry-run",
    )
    if args.renderer == "conda-smithy":
        get_renderer(args.renderer)  # fails now, in one line, when it is not installed
    if args.dry_run:
        return _dry_run(forge, stores, migration, options, args)
    pacer = forge_pacer(forge)
    if pacer is not None and args.time_budget is not None:
        # no write may wait past the run's end (plus the time to finish a feedstock)
        pacer.deadline = time.monotonic() + args.time_budget + 300
    with state.exclusive():
        repos = select(forge.list_feedstocks(), args)
        reporter = ProgressReporter(budget=lambda: _budget_words(forge))
        try:
            summary = run_migration(forge, migration, state, options, stores=stores,
                                    repos=repos, progress=reporter)
        finally:
            reporter.close()
    this_run = ", ".join(f"{v} {k}" for k, v in sorted(summary.outcomes.items())) or "nothing"
    earlier = ", ".join(f"{v} {k}" for k, v in sorted(summary.untouched.items())) or "none"
    print(f"{migration.name}: this run {this_run} in {summary.seconds:.1f} s; "
          f"untouched from earlier runs: {earlier}; left for later: {summary.not_reached}")
    summary_now = report.collect(state, repos, rows=False)
    print(report.format_text(summary_now))
    left = forge.budget()
    totals = summary_now["totals"]
    run_history.append(state.base / "history", index_part(args), run_history.RunLine(
        at=run_history.now(), seconds=round(summary.seconds, 1),
        worked=sum(summary.outcomes.values()), done=totals["done"], failed=totals["failed"],
        skipped=totals["skipped"], pending=totals["pending"] + totals["in-progress"],
        writes=None if left is None else left.writes))
    if left is not None:
        print(f"GitHub: {left.requests} requests ({left.writes} content-creating), "
              f"primary limit remaining {left.remaining}, {left.limit_answers} limit "
              f"answers, {left.waited:.0f} s held back; {left.feedstocks_left} more "
              f"feedstocks fit in this run")
    return 1 if summary.outcomes.get("failed") else 0


def _dry_run(forge: Forge, stores: dict[str, CISecretStore], migration: Migration[Any, Any],
             options: Options, args: argparse.Namespace) -> int:
    dry = DryRunForge(forge)
    dry_stores = {name: DryRunStore(store, dry) for name, store in stores.items()}
    with tempfile.TemporaryDirectory(prefix="migrator-dry-run-") as scratch:
        state = StateDir(Path(scratch), migration.name)
        real = StateDir(args.state, migration.name)
        repos = [r for r in select(forge.list_feedstocks(), args)
                 if real.peek_status(r) not in ("done", "skipped")]
        summary = run_migration(dry, migration, state, options, stores=dry_stores,
                                repos=repos)
    for action in dry.actions:
        print(f"would {action.kind:<16} {action.repo}: {action.detail}")
    counts = ", ".join(f"{v} {k}" for k, v in sorted(summary.outcomes.items())) or "nothing"
    print(f"dry run of {migration.name}: {len(dry.actions)} changes for {len(repos)} "
          f"feedstocks ({counts}); nothing was changed")
    return 0


def _budget_words(forge: Forge) -> str | None:
    left = forge.budget()
    if left is None:
        return None
    return f"GitHub: {left.writes_left} writes, {left.feedstocks_left} feedstocks left"


def forge_pacer(forge: Forge) -> Pacer | None:
    """The GitHub forge's write queue (the local forge has none)."""
    from migrator.forges.github import GithubForge

    return forge.pacer if isinstance(forge, GithubForge) else None
