from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from migrator import migrations
from migrator.forge.local import LocalForge
from migrator.forge.seed import create_forge
from migrator.runner import RunSummary, run_migration
from migrator.state import StateDir
from migrator.task import Options
from migrator.tokens.secret import Secret

ROOT = Path(__file__).resolve().parent.parent
HARNESS = Path(__file__).resolve().parent / "harness"


@pytest.fixture
def tokens_created(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every plain token created in this process during the test (for leak scans)."""
    created: list[str] = []
    original = Secret.new_token.__func__  # type: ignore[attr-defined]

    def recording(cls: type[Secret]) -> Secret:
        secret = original(cls)
        created.append(secret.reveal())
        return secret

    monkeypatch.setattr(Secret, "new_token", classmethod(recording))
    return created


@pytest.fixture
def make_forge(tmp_path: Path):  # type: ignore[no-untyped-def]
    def make(count: int = 12, **kwargs) -> LocalForge:  # type: ignore[no-untyped-def]
        return create_forge(tmp_path / "forge", count=count, workers=1, **kwargs)

    return make


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
    return subprocess.run([sys.executable, "-m", "migrator", *args], env=full_env, cwd=cwd,
                          capture_output=True, text=True, check=check)


@pytest.fixture
def git_log_of() -> Iterator[object]:
    def log(forge: LocalForge, repo: str, branch: str = "main") -> list[str]:
        out = subprocess.run(["git", "log", "--format=%s", branch], cwd=forge.git_dir(repo),
                             capture_output=True, text=True, check=True).stdout
        return out.splitlines()

    yield log
