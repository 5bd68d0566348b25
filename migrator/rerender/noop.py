"""The `none` renderer: leaves CI files as they are."""

from __future__ import annotations

from pathlib import Path


class NoRenderer:
    name = "none"

    def version(self) -> str:
        return ""

    def render(self, workdir: Path) -> None:
        return None
