"""`migrator run`, `migrator status` and `migrator demo`."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

from migrator.bot import migrations
from migrator.bot import run_report as report
from migrator.bot.migrations.base import Migration
from migrator.bot.progress import ProgressReporter
from migrator.bot.runner import run_migration
from migrator.bot.state import StateDir
from migrator.bot.task import Options
from migrator.core.errors import UserError
from migrator.forges import Forge, RepoInfo
from migrator.forges.choose import add_forge_option, open_forge
from migrator.forges.dryrun import DryRunForge


def add_run_commands(commands: Any) -> None:
    names = ", ".join(sorted(migrations.MIGRATIONS))
    run = commands.add_parser(
        "run", help="run a migration over the forge's feedstocks",
        description=f"Run a migration ({names}). Every step's outcome is recorded in the "
                    "state directory before the next begins; run again to resume.",
    )
    run.add_argument("migration", help=f"one of: {names}")
    _common(run)
    run.add_argument("--all-branches", action="store_true",
                     help="also migrate maintenance branches, not just the default branch")
    run.add_argument("--retry-failed", action="store_true",
                     help="retry feedstocks whose last attempt failed")
    run.add_argument("--jobs", type=int, default=4, help="feedstocks in parallel (default: 4)")
    run.add_argument("--batch-size", type=int, default=50,
                     help="feedstocks per token-registry commit (default: 50)")
    run.add_argument("--renderer", default="builtin",
                     help="builtin, conda-smithy or none (default: builtin)")
    run.add_argument("--grace", type=float, default=6.5,
                     help="hours old tokens stay valid after a rotation (default: 6.5)")
    run.add_argument("--time-budget", type=_duration, default=None,
                     help="stop starting feedstocks after this long, e.g. 45m or 2h")
    run.add_argument("--max-feedstocks", type=int, default=None,
                     help="work on at most this many feedstocks in this run")
    run.add_argument("--dry-run", action="store_true",
                     help="read from the forge but only print the changes a run would make "
                          "(the state directory is not touched)")
    run.add_argument("--only", nargs="+", metavar="FEEDSTOCK",
                     help="only these feedstocks (names with or without -feedstock)")
    run.set_defaults(handler=_run)
    status = commands.add_parser(
        "status", help="show done / failed / skipped / pending feedstocks",
        description="Summarise a migration's state directory; failures grouped by reason.",
    )
    status.add_argument("migration", help=f"one of: {names}")
    _common(status)
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(handler=_status)


def _common(parser: argparse.ArgumentParser) -> None:
    add_forge_option(parser)
    parser.add_argument("--state", type=Path, default=Path("state"),
                        help="state directory (default: %(default)s)")
    parser.add_argument("--shard", type=_shard, default=None, metavar="I/N",
                        help="only feedstocks in shard I of N (by repository id)")


def _duration(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    try:
        if text[-1] in units:
            return float(text[:-1]) * units[text[-1]]
        return float(text)
    except (ValueError, IndexError):
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (try 45m)") from None


def _shard(text: str) -> tuple[int, int]:
    try:
        index, count = (int(p) for p in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a shard: {text!r} (try 0/4)") from None
    if not 0 <= index < count:
        raise argparse.ArgumentTypeError(f"shard index must be in 0..{count - 1}")
    return index, count


def select(repos: list[RepoInfo], args: argparse.Namespace) -> list[RepoInfo]:
    if args.shard is not None:
        index, count = args.shard
        # crc32 of the id, not id % N: ids are handed out in runs, names alphabetically
        repos = [r for r in repos if zlib.crc32(str(r.id).encode()) % count == index]
    only = getattr(args, "only", None)
    if only:
        wanted = {n if n.endswith("-feedstock") else f"{n}-feedstock" for n in only}
        missing = wanted - {r.name for r in repos}
        if missing:
            raise UserError(f"no such feedstock: {', '.join(sorted(missing))}")
        repos = [r for r in repos if r.name in wanted]
    return repos


def _run(args: argparse.Namespace) -> int:
    migration = migrations.get(args.migration)
    forge = open_forge(args)
    options = Options(
        all_branches=args.all_branches, retry_failed=args.retry_failed, jobs=args.jobs,
        batch_size=max(1, args.batch_size), grace_seconds=args.grace * 3600,
        renderer=args.renderer, time_budget=args.time_budget,
        max_feedstocks=args.max_feedstocks,
    )
    if args.dry_run:
        return _dry_run(forge, migration, options, args)
    pacer = getattr(forge, "pacer", None)
    if pacer is not None and args.time_budget is not None:
        # no write may wait past the run's end (plus the time to finish a feedstock)
        pacer.deadline = time.monotonic() + args.time_budget + 300
    state = StateDir(args.state, migration.name)
    with state.exclusive():
        repos = select(forge.list_feedstocks(), args)
        reporter = ProgressReporter(len(repos))
        try:
            summary = run_migration(forge, migration, state, options, repos=repos,
                                    progress=reporter)
        finally:
            reporter.close()
    this_run = ", ".join(f"{v} {k}" for k, v in sorted(summary.outcomes.items())) or "nothing"
    earlier = ", ".join(f"{v} {k}" for k, v in sorted(summary.untouched.items())) or "none"
    print(f"{migration.name}: this run {this_run} in {summary.seconds:.1f} s; "
          f"untouched from earlier runs: {earlier}; left for later: {summary.not_reached}")
    print(report.format_text(report.collect(state, repos)))
    budget = getattr(forge, "budget", None)
    if callable(budget):
        left = budget()
        print(f"GitHub: {left.requests} requests ({left.writes} content-creating), "
              f"primary limit remaining {left.remaining}, {left.limit_answers} limit "
              f"answers, {left.waited:.0f} s held back; {left.feedstocks_left} more "
              f"feedstocks fit in this run")
    return 1 if summary.outcomes.get("failed") else 0


def _dry_run(forge: Forge, migration: Migration, options: Options,
             args: argparse.Namespace) -> int:
    dry = DryRunForge(forge)
    with tempfile.TemporaryDirectory(prefix="migrator-dry-run-") as scratch:
        state = StateDir(Path(scratch), migration.name)
        real = StateDir(args.state, migration.name)
        repos = [r for r in select(forge.list_feedstocks(), args)
                 if real.peek_status(r) not in ("done", "skipped")]
        summary = run_migration(dry, migration, state, options, repos=repos)
    for action in dry.actions:
        print(f"would {action.kind:<16} {action.repo}: {action.detail}")
    counts = ", ".join(f"{v} {k}" for k, v in sorted(summary.outcomes.items())) or "nothing"
    print(f"dry run of {migration.name}: {len(dry.actions)} changes for {len(repos)} "
          f"feedstocks ({counts}); nothing was changed")
    return 0


def _status(args: argparse.Namespace) -> int:
    migration = migrations.get(args.migration)
    state = StateDir(args.state, migration.name)
    repos = None
    if args.forge != "none" and (args.forge == "github" or Path(args.forge).exists()):
        repos = select(open_forge(args).list_feedstocks(), args)
    summary = report.collect(state, repos)
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
    else:
        print(report.format_text(summary))
    return 0
