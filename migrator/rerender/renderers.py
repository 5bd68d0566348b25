"""The validation patch as a renderer, `auto` (patch, else conda-smithy) and `none`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from migrator.core.errors import MigratorError
from migrator.rerender.patch import PatchResult, validation_patch
from migrator.rerender.refused import RenderError
from migrator.rerender.rendered import Rendered
from migrator.rerender.smithy import CondaSmithyRenderer, make_conda_smithy

PATCH = "the validation patch"


class PatchRenderer:
    name = "patch"

    def __init__(self) -> None:
        self._last: tuple[Mapping[str, bytes], PatchResult] | None = None

    def _patch(self, files: Mapping[str, bytes]) -> PatchResult:
        # asked first whether it can, then to do it, on the same files: patch once
        if self._last is None or self._last[0] is not files:
            self._last = (files, validation_patch(files))
        return self._last[1]

    def refusal(self, files: Mapping[str, bytes]) -> str | None:
        return self._patch(files).refusal

    def render(self, files: Mapping[str, bytes], checkout: Callable[[], Path]) -> Rendered:
        result = self._patch(files)
        if result.refusal is not None:
            raise RenderError(result.refusal)
        return Rendered(PATCH, full=False, changed=result.changed)


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

    def render(self, files: Mapping[str, bytes], checkout: Callable[[], Path]) -> Rendered:
        if self.patch.refusal(files) is None:
            return self.patch.render(files, checkout)
        return self._full().render(files, checkout)


class NoRenderer:
    name = "none"

    def refusal(self, files: Mapping[str, bytes]) -> str | None:
        return None

    def render(self, files: Mapping[str, bytes], checkout: Callable[[], Path]) -> Rendered:
        return Rendered("nothing (--renderer none)", full=False)
