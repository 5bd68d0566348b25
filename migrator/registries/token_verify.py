"""Checking a token against registry entries: any live entry for the provider that matches,
every entry checked so the time taken does not tell which one matched."""

from __future__ import annotations

import hmac

from migrator.core.secret import Secret
from migrator.registries.token_hashing import Entry, scrypt_hex


def matches(token: Secret, entry: Entry) -> bool:
    try:
        salt = bytes.fromhex(entry.salt)
    except ValueError:
        return False
    return hmac.compare_digest(scrypt_hex(token, salt), entry.hashed_token.lower())


def verify(
    token: Secret, entries: list[Entry], *, provider: str | None = None,
    now: float | None = None,
) -> bool:
    """True when any live entry matches. Checks every live entry (no early exit on
    the first non-match) so the time taken does not depend on which one matched."""
    found = False
    for entry in entries:
        if entry.is_live(provider, now) and matches(token, entry):
            found = True
    return found
