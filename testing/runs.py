"""Running the bot in tests: a migration in-process, or the CLI in a child process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from migrator.bot import migrations
from migrator.bot.runner import RunSummary, run_migration
from migrator.bot.state import StateDir
from migrator.bot.task import Options
from migrator.forges.local import LocalForge

ROOT = Path(__file__).resolve().parent.parent
HARNESS = Path(__file__).resolve().parent / "harness"


def migrate(
    forge: LocalForge, state_root: Path, migration: str = "output-validation", *,
    repos=None, **options,  # type: ignore[no-untyped-def]
) -> RunSummary:
    options.setdefault("renderer", "none")
    options.setdefault("jobs", 2)
    mig = migrations.get(migration)
    return run_migration(forge, mig, StateDir(state_root, mig.name), Options(**options),
                         repos=repos)


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
            check: bool = False, token_log: Path | None = None,
            ) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = os.pathsep.join([str(HARNESS), str(ROOT)])
    if token_log is not None:
        full_env["MIGRATOR_TEST_TOKEN_LOG"] = str(token_log)
    full_env.update(env or {})
    entry = "testing" if args[:1] in (("forge",), ("demo",)) else "migrator"
    return subprocess.run([sys.executable, "-m", entry, *args], env=full_env, cwd=cwd,
                          capture_output=True, text=True, check=check)
