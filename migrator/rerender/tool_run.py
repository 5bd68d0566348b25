"""Running a rendering tool as a child process: bounded in time, without credentials in its
environment, its failure one line."""

from __future__ import annotations

import subprocess
from pathlib import Path

from migrator.core import deadline
from migrator.core.git import scrubbed_env
from migrator.rerender.refused import RenderError

RERENDER_TIMEOUT = 900  # seconds; a rerender downloads the pinnings and renders every variant


def tool_works(args: list[str]) -> bool:
    try:
        return subprocess.run(args, capture_output=True, timeout=120).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def run_tool(args: list[str], *, cwd: Path | None, what: str) -> str:
    limit = deadline.cap(RERENDER_TIMEOUT)  # no longer than the feedstock has left
    try:
        proc = subprocess.run(
            args, cwd=cwd, capture_output=True, text=True, timeout=limit,
            env=scrubbed_env(),
        )
    except subprocess.TimeoutExpired:
        raise RenderError(f"{what} did not finish within {limit:.0f} s") from None
    except OSError as exc:
        raise RenderError(f"{what} could not start: {exc.strerror or exc}") from None
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        last = lines[-1] if lines else "no output"
        raise RenderError(f"{what} failed (exit {proc.returncode}): {last}")
    return proc.stdout.strip()
