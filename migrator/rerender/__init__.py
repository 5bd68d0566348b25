"""Rerendering: rewriting a feedstock's CI files from conda-forge.yml and its recipe.

Three renderers share one small interface: `builtin` (jinja2 templates in templates/ci),
`conda-smithy` (the real tool, when installed) and `none` (leave the files alone).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol

from migrator.core.errors import UserError
from migrator.rerender.builtin import (
    EXECUTABLE_PATHS,
    OWNED_PATHS,
    BuiltinRenderer,
    render_feedstock,
)
from migrator.rerender.noop import NoRenderer
from migrator.rerender.smithy import make_conda_smithy

__all__ = [
    "EXECUTABLE_PATHS", "OWNED_PATHS", "RENDERERS", "Renderer", "get_renderer",
    "seed_ci_files",
]


class Renderer(Protocol):
    name: str  # "builtin", "conda-smithy", "none"

    def version(self) -> str: ...

    def render(self, workdir: Path) -> None:
        """Rewrite the CI files in place in a git working copy (uncommitted)."""
        ...


RENDERERS: dict[str, Callable[[], Renderer]] = {
    "builtin": BuiltinRenderer,
    "conda-smithy": make_conda_smithy,
    "none": NoRenderer,
}


def get_renderer(name: str) -> Renderer:
    factory = RENDERERS.get(name)
    if factory is None:
        choices = ", ".join(sorted(RENDERERS))
        raise UserError(f"unknown renderer {name!r}; choose one of: {choices}")
    return factory()


def seed_ci_files(files: Mapping[str, bytes]) -> dict[str, bytes]:
    """Given a new feedstock's files in memory (at least conda-forge.yml, recipe/...,
    .ci_support/*.yaml), return the CI files the builtin renderer would produce
    (path -> bytes). The local forge's seeder calls this so demo feedstocks look like
    real ones. Paths in EXECUTABLE_PATHS are scripts to commit as executable."""
    return render_feedstock(files).files
