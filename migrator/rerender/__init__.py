"""Rerendering: bringing a feedstock's rendered CI files in line with
`conda_forge_output_validation: true`.

Four renderers share one small interface: `patch` (the default: exactly the edits
conda-smithy's templates make for the key, on the files as they are), `conda-smithy` (a
full rerender by the real tool), `auto` (the patch, and conda-smithy for layouts the
patch does not recognise) and `none`. Whatever renders, `guard.check_rerender` stands in
front of the commit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol

from migrator.core.errors import UserError
from migrator.rerender.rendered import Rendered
from migrator.rerender.renderers import AutoRenderer, NoRenderer, PatchRenderer
from migrator.rerender.smithy import make_conda_smithy


class Renderer(Protocol):
    name: str  # "patch", "auto", "conda-smithy", "none"

    def refusal(self, files: Mapping[str, bytes]) -> str | None:
        """Why this renderer cannot rerender a feedstock with these rendered files
        (None: it can). Asked before the config commit, so no feedstock is left half
        switched over."""
        ...

    def render(self, files: Mapping[str, bytes], checkout: Callable[[], Path]) -> Rendered:
        """The changes that rerender a feedstock whose rendered files are `files`.
        `checkout()` gives a working tree of the feedstock, for a renderer that needs
        one (a full rerender); the others work on `files` alone."""
        ...


RENDERERS: dict[str, Callable[[], Renderer]] = {
    "patch": PatchRenderer,
    "auto": AutoRenderer,
    "conda-smithy": make_conda_smithy,
    "none": NoRenderer,
}


def get_renderer(name: str) -> Renderer:
    factory = RENDERERS.get(name)
    if factory is None:
        choices = ", ".join(sorted(RENDERERS))
        raise UserError(f"unknown renderer {name!r}; choose one of: {choices}")
    return factory()
