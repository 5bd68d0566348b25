"""The validation patch as a renderer, `auto` (patch, else conda-smithy) and `none`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from migrator.core.errors import MigratorError
from migrator.rerender.patch import validation_patch
from migrator.rerender.refused import RenderError
from migrator.rerender.rendered import Rendered
from migrator.rerender.smithy import CondaSmithyRenderer, make_conda_smithy
from migrator.rerender.working_copy import write_files

PATCH = "the validation patch"


class PatchRenderer:
    name = "patch"

    def refusal(self, files: Mapping[str, bytes]) -> str | None:
        return validation_patch(files).refusal

    def render(self, workdir: Path, files: Mapping[str, bytes]) -> Rendered:
        result = validation_patch(files)
        if result.refusal is not None:
            raise RenderError(result.refusal)
        write_files(workdir, result.changed)
        return Rendered(PATCH, full=False)


class AutoRenderer:
    """The patch where it recognises the layout; conda-smithy for the rest, when it is
    installed (found on first need, so a run that never needs it never asks)."""

    name = "auto"

    def __init__(self) -> None:
        self.patch = PatchRenderer()
        self._smithy: CondaSmithyRenderer | None = None

    def _full(self) -> CondaSmithyRenderer:
        if self._smithy is None:
            try:
                self._smithy = make_conda_smithy()
            except MigratorError as exc:
                raise RenderError(str(exc)) from None
        return self._smithy

    def refusal(self, files: Mapping[str, bytes]) -> str | None:
        refused = self.patch.refusal(files)
        if refused is None:
            return None
        try:
            self._full()
        except RenderError as exc:
            return f"{refused}; and no full rerender: {exc}"
        return None

    def render(self, workdir: Path, files: Mapping[str, bytes]) -> Rendered:
        if self.patch.refusal(files) is None:
            return self.patch.render(workdir, files)
        return self._full().render(workdir, files)


class NoRenderer:
    name = "none"

    def refusal(self, files: Mapping[str, bytes]) -> str | None:
        return None

    def render(self, workdir: Path, files: Mapping[str, bytes]) -> Rendered:
        return Rendered("nothing (--renderer none)", full=False)
