from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from migrator.core.secret import Secret
from migrator.forges.local import LocalForge
from testing.runs import HARNESS, ROOT, migrate, run_cli  # noqa: F401
from testing.seed import create_forge


@pytest.fixture(autouse=True)
def staging_token(monkeypatch: pytest.MonkeyPatch) -> str:
    """The organisation's staging token, given by the admin in the environment."""
    value = secrets.token_hex(32)
    monkeypatch.setenv("STAGING_BINSTAR_TOKEN", value)
    return value


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


@pytest.fixture
def git_log_of() -> Iterator[object]:
    def log(forge: LocalForge, repo: str, branch: str = "main") -> list[str]:
        out = subprocess.run(["git", "log", "--format=%s", branch], cwd=forge.git_dir(repo),
                             capture_output=True, text=True, check=True).stdout
        return out.splitlines()

    yield log
