"""Checking a feedstock token against the token registry (`feedstock-tokens`).

An entry is live for a provider when it names no provider or that provider, and has no
expiry or one in the future; the token is valid when any live entry matches (scrypt,
see `migrator.tokens.hashing`). scrypt is deliberately slow, so a match is remembered
in memory under an HMAC of the token with a per-process key; a remembered match still
counts only while its registry entry exists and is live.
"""

from __future__ import annotations

import hmac
import os
import threading
import time
from collections import OrderedDict

from migrator.errors import StepFailed
from migrator.forge import Forge
from migrator.tokens import registry_file
from migrator.tokens.hashing import Entry, matches
from migrator.tokens.secret import Secret

REPO = "feedstock-tokens"
_CACHE_SIZE = 4096


class TokenRegistryError(Exception):
    """The token registry could not be read."""


class TokenChecker:
    def __init__(self, forge: Forge) -> None:
        self.forge = forge
        self._key = os.urandom(32)
        self._matched: OrderedDict[tuple[str, bytes], tuple[str, str]] = OrderedDict()
        self._lock = threading.Lock()

    def entries(self, feedstock: str) -> list[Entry]:
        path = f"tokens/{feedstock}-feedstock.json"
        try:
            raw = self.forge.read_file(REPO, path)
        except Exception as exc:
            raise TokenRegistryError(f"cannot read {REPO}/{path}: {exc}") from None
        if raw is None:
            return []
        try:
            return registry_file.parse(raw.decode("utf-8", "replace"), where=f"{REPO}/{path}")
        except StepFailed as exc:
            raise TokenRegistryError(str(exc)) from None

    def check(self, feedstock: str, token: Secret, *, provider: str | None,
              now: float | None = None) -> bool:
        now = time.time() if now is None else now
        live = [e for e in self.entries(feedstock) if e.is_live(provider, now)]
        digest = hmac.new(self._key, token.reveal().encode(), "sha256").digest()
        key = (feedstock, digest)
        with self._lock:
            remembered = self._matched.get(key)
        if remembered is not None and any(
                (e.salt, e.hashed_token) == remembered for e in live):
            return True
        found = None
        for entry in live:  # every live entry is tried, so timing does not tell which
            if matches(token, entry) and found is None:
                found = entry
        if found is None:
            return False
        with self._lock:
            self._matched[key] = (found.salt, found.hashed_token)
            self._matched.move_to_end(key)
            while len(self._matched) > _CACHE_SIZE:
                self._matched.popitem(last=False)
        return True
