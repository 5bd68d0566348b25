"""Every migration the bot knows, registered explicitly by name."""

from __future__ import annotations

from migrator.bot.migrations import output_validation, rotate_tokens
from migrator.bot.migrations.base import Migration
from migrator.core.errors import UserError

MIGRATIONS: dict[str, Migration] = {
    output_validation.NAME: output_validation.MIGRATION,
    rotate_tokens.NAME: rotate_tokens.MIGRATION,
}


def get(name: str) -> Migration:
    try:
        return MIGRATIONS[name]
    except KeyError:
        known = ", ".join(sorted(MIGRATIONS))
        raise UserError(f"unknown migration {name!r}; known: {known}") from None
