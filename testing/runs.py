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
from migrator.forges import RepoInfo
from migrator.forges.ci_secrets import CISecretStore
from migrator.forges.local import LocalForge

ROOT = Path(__file__).resolve().parent.parent
HARNESS = Path(__file__).resolve().parent / "harness"


def migrate(
    forge: LocalForge, state_root: Path, migration: str = "output-validation", *,
    repos=None, **options,  # type: ignore[no-untyped-def]
) -> RunSummary:
    options.setdefault("renderer", "none")
    options.setdefault("jobs", 2)
    generation = options.pop("generation", 1)
    mig = migrations.get(migration, generation=generation)
    return run_migration(forge, mig, StateDir(state_root, mig.name), Options(**options),
                         stores=local_stores(forge), repos=repos)


def local_stores(forge: LocalForge) -> dict[str, CISecretStore]:
    """The CI secret stores of a local forge: its Actions secrets and its Azure pipelines."""
    from migrator.forges.actions_store import ActionsStore
    from migrator.forges.local_pipelines import LocalPipelines

    return {"github_actions": ActionsStore(forge),
            "azure": LocalPipelines(forge.root / "azure")}


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


def provider_tokens(forge: LocalForge, repo: RepoInfo) -> dict[str, str]:
    """The FEEDSTOCK_TOKEN each CI provider's jobs of `repo` are given (the runners' view):
    GitHub Actions' repository secret and the Azure pipeline's secret variable."""
    from migrator.core.errors import MigratorError
    from migrator.forges.local_pipelines import LocalPipelines

    found = {}
    actions = forge.ci_secrets(repo).get("FEEDSTOCK_TOKEN")
    if actions is not None:
        found["github_actions"] = actions
    try:
        found["azure"] = LocalPipelines(forge.root / "azure").decrypt_variable(
            repo.name, "FEEDSTOCK_TOKEN")
    except (KeyError, MigratorError):
        pass
    return found


def providers_of(state_root: Path, repo: RepoInfo, migration: str = "output-validation"
                 ) -> list[str]:
    """The CI providers the migration found `repo` uploading from."""
    return StateDir(state_root, migration).load(repo).providers
