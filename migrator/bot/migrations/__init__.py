"""Every migration the bot knows, registered explicitly by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from migrator.bot.migrations import output_validation, rotate_tokens
from migrator.bot.migrations.model import Migration
from migrator.core.errors import UserError

MIGRATIONS: dict[str, Callable[[int], Migration[Any, Any]]] = {
    output_validation.NAME: lambda generation: output_validation.MIGRATION,
    rotate_tokens.NAME: rotate_tokens.migration,
}


def get(name: str, *, generation: int = 1) -> Migration[Any, Any]:
    try:
        factory = MIGRATIONS[name]
    except KeyError:
        known = ", ".join(sorted(MIGRATIONS))
        raise UserError(f"unknown migration {name!r}; known: {known}") from None
    return factory(generation)
