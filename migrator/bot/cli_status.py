"""`migrator status` (where a migration stands) and `migrator report` (the job summary
and progress chart of the scheduled workflow)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from migrator.bot import job_summary, migrations, progress_chart, run_history
from migrator.bot import run_report as report
from migrator.bot.cli_options import common_options, positive, select
from migrator.bot.state import StateDir
from migrator.core.errors import UserError
from migrator.forges.choose import open_forge


def add_status_commands(commands: Any) -> None:
    names = ", ".join(sorted(migrations.MIGRATIONS))
    status = commands.add_parser(
        "status", help="show done / failed / skipped / pending feedstocks",
        description="Summarise a migration's state directory; failures grouped by reason.",
    )
    status.add_argument("migration", choices=sorted(migrations.MIGRATIONS),
                        metavar="MIGRATION", help=f"one of: {names}")
    status.add_argument("--generation", type=positive, default=1,
                        help="rotate-tokens: which rotation (default: 1)")
    common_options(status)
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(handler=_status)
    summary = commands.add_parser(
        "report", help="write the job summary (Markdown) and the progress chart (SVG)",
        description="Draw a migration's course from its state: counts, failures by reason "
                    "code, the time left at the measured rate, and a chart with one point "
                    "per run.")
    summary.add_argument("migration", choices=sorted(migrations.MIGRATIONS),
                         metavar="MIGRATION", help=f"one of: {names}")
    common_options(summary)
    summary.add_argument("--generation", type=positive, default=1)
    summary.add_argument("--markdown", type=Path, help="append the summary to this file "
                         "(e.g. $GITHUB_STEP_SUMMARY)")
    summary.add_argument("--svg", type=Path, help="write the progress chart here")
    summary.set_defaults(handler=_report)


def _summary(args: argparse.Namespace, *,
             rows: bool = True) -> tuple[StateDir, dict[str, Any]]:
    migration = migrations.get(args.migration, generation=args.generation)
    state = StateDir(args.state, migration.name)
    if not state.base.is_dir():
        raise UserError(f"no state for {migration.name} in {args.state} (wrong --state, "
                        "or nothing has run yet)")
    repos = None if args.forge == "none" else select(open_forge(args).list_feedstocks(), args)
    return state, report.collect(state, repos, rows=rows)


def _status(args: argparse.Namespace) -> int:
    _, summary = _summary(args, rows=args.json)
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
    else:
        print(report.format_text(summary))
    return 0


def _report(args: argparse.Namespace) -> int:
    state, summary = _summary(args, rows=False)
    history = run_history.read(state.base / "history")
    text = job_summary.markdown(summary, history)
    if args.markdown is not None:
        with open(args.markdown, "a", encoding="utf-8") as handle:
            handle.write(text)
    else:
        print(text, end="")
    if args.svg is not None:
        args.svg.write_text(progress_chart.chart(history, title=summary["migration"]))
    return 0
