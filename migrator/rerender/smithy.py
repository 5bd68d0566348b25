"""The `conda-smithy` renderer: runs `conda smithy rerender` in the working copy."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from migrator.core import deadline
from migrator.core.errors import UserError
from migrator.core.git import scrubbed_env
from migrator.rerender.refused import RenderError
from migrator.rerender.rendered import Rendered

RERENDER_TIMEOUT = 900  # seconds; a rerender downloads the pinnings and renders every variant


class CondaSmithyRenderer:
    name = "conda-smithy"

    def __init__(self, *, command: tuple[str, ...]) -> None:
        self.command = command  # ("/path/conda-smithy",) or ("/path/conda", "smithy")

    def version(self) -> str:
        return _run([*self.command, "--version"], cwd=None, what="conda smithy --version")

    def refusal(self, files: Mapping[str, bytes]) -> str | None:
        return None

    def render(self, workdir: Path, files: Mapping[str, bytes]) -> Rendered:
        # Without --commit, conda-smithy leaves the changes uncommitted (its --commit
        # takes only "edit" or "auto"); the caller makes the rerender commit.
        _run(
            [*self.command, "rerender", "--feedstock_directory", str(workdir),
             "--no-check-uptodate"],
            cwd=workdir,
            what="conda smithy rerender",
        )
        return Rendered(f"conda-smithy {self.version()}", full=True)


def find_conda_smithy() -> tuple[str, ...]:
    """The command that runs conda-smithy on this machine's PATH."""
    standalone = shutil.which("conda-smithy")
    if standalone:
        return (standalone,)
    conda = shutil.which("conda")
    if conda and _works([conda, "smithy", "--version"]):
        return (conda, "smithy")
    raise UserError(
        "conda-smithy is not installed: neither `conda-smithy` nor `conda smithy` runs from "
        "PATH; install it (conda install -c conda-forge conda-smithy) or choose the "
        "validation patch (--renderer patch)"
    )


def make_conda_smithy() -> CondaSmithyRenderer:
    return CondaSmithyRenderer(command=find_conda_smithy())


def _works(args: list[str]) -> bool:
    try:
        return subprocess.run(args, capture_output=True, timeout=120).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _run(args: list[str], *, cwd: Path | None, what: str) -> str:
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
