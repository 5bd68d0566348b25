"""The `conda-smithy` renderer: runs `conda smithy rerender` in the working copy."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from pathlib import Path

from migrator.core.errors import UserError
from migrator.rerender.rendered import Rendered
from migrator.rerender.tool_run import run_tool, tool_works
from migrator.rerender.working_copy import checkout_changes


class CondaSmithyRenderer:
    name = "conda-smithy"

    def __init__(self, *, command: tuple[str, ...]) -> None:
        self.command = command  # ("/path/conda-smithy",) or ("/path/conda", "smithy")

    def version(self) -> str:
        return run_tool([*self.command, "--version"], cwd=None, what="conda smithy --version")

    def refusal(self, files: Mapping[str, bytes]) -> str | None:
        return None

    def render(self, files: Mapping[str, bytes], checkout: Callable[[], Path]) -> Rendered:
        # Without --commit, conda-smithy leaves the changes uncommitted (its --commit
        # takes only "edit" or "auto"); the caller makes the rerender commit from them.
        workdir = checkout()
        run_tool(
            [*self.command, "rerender", "--feedstock_directory", str(workdir),
             "--no-check-uptodate"],
            cwd=workdir,
            what="conda smithy rerender",
        )
        return Rendered(f"conda-smithy {self.version()}", full=True,
                        changed=checkout_changes(workdir))


def find_conda_smithy() -> tuple[str, ...]:
    """The command that runs conda-smithy on this machine's PATH."""
    standalone = shutil.which("conda-smithy")
    if standalone:
        return (standalone,)
    conda = shutil.which("conda")
    if conda and tool_works([conda, "smithy", "--version"]):
        return (conda, "smithy")
    raise UserError(
        "conda-smithy is not installed: neither `conda-smithy` nor `conda smithy` runs from "
        "PATH; install it (conda install -c conda-forge conda-smithy) or choose the "
        "validation patch (--renderer patch)"
    )


def make_conda_smithy() -> CondaSmithyRenderer:
    return CondaSmithyRenderer(command=find_conda_smithy())


