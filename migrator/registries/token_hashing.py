"""The token hash format shared with the token registry and the validation service.

scrypt over the UTF-8 bytes of the token's hex text, N=16384, r=8, p=1, 256-byte output,
64-byte random salt; salt and hash stored as lowercase hex.

The hash runs in libsodium (through PyNaCl): its vectorised scrypt gives the same bytes
as OpenSSL's (`hashlib.scrypt`; `tests/bot/test_tokens.py` checks) in about two thirds
of the CPU time, and it maps its 16 MiB work area for each call and unmaps it after, so
no thread's allocator keeps one.
"""

from __future__ import annotations

import math
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

from nacl.bindings import crypto_pwhash_scryptsalsa208sha256_ll

from migrator.core.secret import Secret

SCRYPT_N = 16384
SCRYPT_R = 8
SCRYPT_P = 1
HASH_BYTES = 256
SALT_BYTES = 64


class Entry(NamedTuple):
    """One registry entry. Hash and salt are public; they never reveal the token."""

    salt: str
    hashed_token: str
    provider: str | None = None
    expires_at: float | None = None

    def is_live(self, provider: str | None, now: float | None = None) -> bool:
        """conda-forge's rule: an entry serves provider P when it names no provider or
        names P; a request that names no provider is served only by entries that name
        none. An expiry that is not a finite number in the future makes it dead."""
        now = time.time() if now is None else now
        if self.expires_at is not None and not (
            math.isfinite(self.expires_at) and self.expires_at > now
        ):
            return False
        if provider is None:
            return self.provider is None
        return self.provider is None or self.provider == provider

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {"salt": self.salt, "hashed_token": self.hashed_token}
        if self.provider is not None:
            data["provider"] = self.provider
        if self.expires_at is not None:
            data["expires_at"] = self.expires_at
        return data


class _Hashers:
    """scrypt is bound by the CPU and takes 16 MiB per call. More calls at once than
    there are cores gain no time and only add 16 MiB each: every hash runs on one of
    these threads. A forked child starts its own (the parent's threads are not in it)."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._pool, self._lock = None, threading.Lock()

    def run(self, token: Secret, salt: bytes) -> str:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 1,
                                                thread_name_prefix="token-hash")
            pool = self._pool
        try:
            future = pool.submit(_scrypt_hex, token, salt)
        except RuntimeError:  # the interpreter is shutting down: no new threads
            return _scrypt_hex(token, salt)
        return future.result()


_HASHERS = _Hashers()


def scrypt_hex(token: Secret, salt: bytes) -> str:
    return _HASHERS.run(token, salt)


def _scrypt_hex(token: Secret, salt: bytes) -> str:
    digest = crypto_pwhash_scryptsalsa208sha256_ll(
        token.reveal().encode("utf-8"), salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, HASH_BYTES)
    return digest.hex()


def hash_token(
    token: Secret, *, provider: str | None = None, expires_at: float | None = None
) -> Entry:
    salt = os.urandom(SALT_BYTES)
    return Entry(salt.hex(), scrypt_hex(token, salt), provider, expires_at)


