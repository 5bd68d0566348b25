"""`python -m testing demo`: the whole system on the embedded default, in one command."""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

from migrator.bot import migrations
from migrator.bot import run_report as report
from migrator.bot.progress import ProgressReporter
from migrator.bot.runner import run_migration
from migrator.bot.state import StateDir
from migrator.bot.task import Options
from migrator.forges import RepoInfo
from migrator.forges.local import LocalForge
from testing.runs import local_stores
from testing.seed import create_forge

_BUILD_STEPS = ".scripts/build_steps.sh"


def add_demo_command(commands: Any) -> None:
    demo = commands.add_parser(
        "demo", help="create a local forge and migrate it end to end",
        description="Create a local forge in DIR (replacing an earlier demo there), run "
                    "the output-validation migration on it with a state directory beside "
                    "it, show the status, then play one feedstock's CI through the "
                    "validation service.",
    )
    demo.add_argument("dir", type=Path, nargs="?", default=Path("demo"),
                      help="folder for the demo (default: %(default)s)")
    demo.add_argument("--count", type=int, default=60, help="feedstocks (default: 60)")
    demo.add_argument("--jobs", type=int, default=4)
    demo.set_defaults(handler=_demo)


def _show_validation_lines(forge: LocalForge, done: list[RepoInfo]) -> None:
    carrying = [r.name for r in done
                if b"validate_recipe_outputs" in (forge.read_file(r.name, _BUILD_STEPS) or b"")]
    print(f"{len(carrying)} of {len(done)} migrated feedstocks now run "
          f"`validate_recipe_outputs` and `upload_package --validate` in {_BUILD_STEPS}")


def _demo(args: argparse.Namespace) -> int:
    root: Path = args.dir
    if (root / "forge" / "forge.json").exists():
        shutil.rmtree(root)
    started = time.perf_counter()
    forge = create_forge(root / "forge", count=args.count)
    print(f"created a local forge of {args.count} feedstocks at {root / 'forge'} "
          f"in {time.perf_counter() - started:.1f} s")
    # the admin gives the shared staging token once; the demo makes one up
    os.environ.setdefault("STAGING_BINSTAR_TOKEN", secrets.token_hex(32))
    migration = migrations.get("output-validation")
    state = StateDir(root / "state", migration.name)
    repos = forge.list_feedstocks()
    reporter = ProgressReporter()
    with state.exclusive():
        summary = run_migration(forge, migration, state, Options(jobs=args.jobs),
                                stores=local_stores(forge), repos=repos, progress=reporter)
    reporter.close()
    print(f"migrated in {summary.seconds:.1f} s")
    print(report.format_text(report.collect(state, repos)))
    failed = summary.outcomes.get("failed", 0)
    _show_validation_lines(forge, [r for r in repos if state.peek_status(r) == "done"])
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per HTTP call is noise
    try:
        from testing.play_ci import play_ci
    except ImportError:
        return 1 if failed else 0
    done = [state.load(r) for r in repos if state.peek_status(r) == "done" and not r.archived]
    played: set[str] = set()
    for provider in ("azure", "github_actions"):  # one CI job of each kind, both accepted
        record = next((r for r in done if provider in r.providers
                       and r.data["feedstock"] not in played), None)
        if record is not None:
            played.add(record.data["feedstock"])
            play_ci(forge, record.data["feedstock"], root / "ci" / provider,
                    register_missing=False, provider=provider)
    return 1 if failed else 0
