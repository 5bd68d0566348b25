"""Read and write one registry file, `tokens/<name>-feedstock.json`."""

from __future__ import annotations

import json
import math
import time
from typing import Any

from migrator.registries import RegistryError
from migrator.registries.token_hashing import Entry


def parse(text: str, *, where: str) -> list[Entry]:
    """Both forms: `{"tokens": [...]}` and the legacy single `{"salt", "hashed_token"}`."""
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RegistryError(f"{where} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    if isinstance(data, dict) and "tokens" in data:
        raw = data["tokens"]
    elif isinstance(data, dict) and "hashed_token" in data:
        raw = [data]
    else:
        raise RegistryError(f"{where} holds neither a token list nor a legacy token entry")
    if not isinstance(raw, list):
        raise RegistryError(f"{where}: 'tokens' must be a list")
    return [_entry(item, where) for item in raw]


def _entry(item: Any, where: str) -> Entry:
    if not isinstance(item, dict):
        raise RegistryError(f"{where}: every token entry must be an object")
    try:
        return Entry(
            salt=str(item["salt"]),
            hashed_token=str(item["hashed_token"]),
            provider=item.get("provider"),
            expires_at=_expiry(item.get("expires_at")),
        )
    except (KeyError, TypeError, ValueError):
        raise RegistryError(f"{where}: a token entry lacks 'salt' or 'hashed_token'") from None


def _expiry(value: Any) -> float | None:
    """A number, or NaN (a dead entry) for anything that is not one."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return math.nan


def dump(entries: list[Entry], *, now: float | None = None) -> str:
    """Always the list form; entries already expired are dropped."""
    now = time.time() if now is None else now
    live = [e for e in entries
            if e.expires_at is None or (math.isfinite(e.expires_at) and e.expires_at > now)]
    return json.dumps({"tokens": [e.to_json() for e in live]}, indent=2) + "\n"
