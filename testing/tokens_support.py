"""Independent implementation of the documented token rule, for cross-checks.

Written from DESIGN.md's description only (hashlib.scrypt, N=16384, r=8, p=1, 256-byte
output, 64-byte salt, hex), deliberately sharing no code with migrator.tokens.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time


def independent_hash(token: str, salt: bytes | None = None) -> dict[str, str]:
    salt = os.urandom(64) if salt is None else salt
    digest = hashlib.scrypt(token.encode("utf-8"), salt=salt, n=16384, r=8, p=1, dklen=256,
                            maxmem=64 * 1024 * 1024)
    return {"salt": salt.hex(), "hashed_token": digest.hex()}


def independent_verify(token: str, file_text: str, provider: str = "github_actions",
                       now: float | None = None) -> bool:
    now = time.time() if now is None else now
    data = json.loads(file_text)
    entries = data["tokens"] if "tokens" in data else [data]
    for entry in entries:
        if entry.get("provider") not in (None, provider):
            continue
        if entry.get("expires_at") is not None and entry["expires_at"] <= now:
            continue
        expected = independent_hash(token, bytes.fromhex(entry["salt"]))["hashed_token"]
        if hmac.compare_digest(expected, entry["hashed_token"]):
            return True
    return False
