"""Checking a feedstock token against the token registry (`feedstock-tokens`).

conda-forge's rule (`Entry.is_live`): an entry is live for provider P when it names no
provider or names P, and has no expiry or one in the future; the token is valid when a
live entry matches (scrypt, see `migrator.registries.token_hashing`).

What a wrong token learns is the same whether or not the feedstock has entries: every
check computes scrypt at least `PADDED_CHECKS` times (a feedstock has one entry per CI
provider, usually one or two), against dummy entries when there are too few real ones,
and the answer names no entry. scrypt needs 16 MiB and tens of milliseconds, so it runs
on a pool of `scrypt_workers` threads, whatever the number of requests: at most that many
run at once, so many requests at once never add more than that many 16 MiB areas.
A match is remembered in memory under an HMAC of the token with a per-process key, and
counts only while its entry is still live.
"""

from __future__ import annotations

import enum
import hmac
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from migrator.core.secret import Secret
from migrator.forges import Forge
from migrator.registries import RegistryError
from migrator.registries import token_file as registry_file
from migrator.registries.token_hashing import HASH_BYTES, SALT_BYTES, Entry
from migrator.registries.token_verify import matches

REPO = "feedstock-tokens"
PADDED_CHECKS = 2
_CACHE_SIZE = 4096


class TokenRegistryError(Exception):
    """The token registry could not be read."""


class Verdict(enum.Enum):
    VALID = "valid"
    WRONG_PROVIDER = "wrong_provider"  # an entry of another provider matches
    EXPIRED = "expired"  # only expired entries match
    INVALID = "invalid"  # nothing matches


def token_path(feedstock: str) -> str:
    return f"tokens/{feedstock}-feedstock.json"


class TokenChecker:
    def __init__(self, forge: Forge, *, scrypt_workers: int = 2,
                 read: Callable[[str], bytes | None] | None = None) -> None:
        """`read(path)` reads a file of the registry (by default through the forge)."""
        self.forge = forge
        self.read = read or (lambda path: forge.read_file(REPO, path))
        self._key = os.urandom(32)
        self._matched: OrderedDict[tuple[str, bytes], tuple[str, str]] = OrderedDict()
        self._lock = threading.Lock()
        self._scrypt = ThreadPoolExecutor(max_workers=max(1, scrypt_workers),
                                          thread_name_prefix="scrypt")
        self._dummies = [Entry(os.urandom(SALT_BYTES).hex(), "00" * HASH_BYTES)
                         for _ in range(PADDED_CHECKS)]

    def entries(self, feedstock: str) -> list[Entry]:
        path = token_path(feedstock)
        try:
            raw = self.read(path)
        except Exception as exc:
            raise TokenRegistryError(f"cannot read {REPO}/{path}: {exc}") from None
        if raw is None:
            return []
        try:
            return registry_file.parse(raw.decode("utf-8", "replace"), where=f"{REPO}/{path}")
        except RegistryError as exc:
            raise TokenRegistryError(str(exc)) from None

    def check(self, feedstock: str, token: Secret, *, provider: str | None,
              now: float | None = None) -> bool:
        return self.verdict(feedstock, token, provider=provider, now=now) is Verdict.VALID

    def verdict(self, feedstock: str, token: Secret, *, provider: str | None,
                now: float | None = None) -> Verdict:
        now = time.time() if now is None else now
        entries = self.entries(feedstock)
        key = (feedstock, hmac.new(self._key, token.reveal().encode(), "sha256").digest())
        with self._lock:
            remembered = self._matched.get(key)
        if remembered is not None and any(
                (e.salt, e.hashed_token) == remembered and e.is_live(provider, now)
                for e in entries):
            return Verdict.VALID
        padding = self._dummies[: max(0, PADDED_CHECKS - len(entries))]
        checks = [self._scrypt.submit(matches, token, e) for e in entries + padding]
        found = [e for e, check in zip(entries, checks[: len(entries)], strict=True)
                 if check.result()]
        for check in checks[len(entries):]:
            check.result()  # the dummies' time is part of every answer
        live = [e for e in found if e.is_live(provider, now)]
        if live:
            self._remember(key, live[0])
            return Verdict.VALID
        if any(e.expires_at is None or e.expires_at > now for e in found):
            return Verdict.WRONG_PROVIDER
        return Verdict.EXPIRED if found else Verdict.INVALID

    def _remember(self, key: tuple[str, bytes], entry: Entry) -> None:
        with self._lock:
            self._matched[key] = (entry.salt, entry.hashed_token)
            self._matched.move_to_end(key)
            while len(self._matched) > _CACHE_SIZE:
                self._matched.popitem(last=False)
