"""Sealed-box key pairs for the local forge's write-only secrets (GitHub's scheme)."""

from __future__ import annotations

import base64
import hashlib

from nacl.public import PrivateKey, SealedBox

from migrator.forges import ForgeError, PublicKey


def new_key_pair() -> dict[str, str]:
    private = PrivateKey.generate()
    public = bytes(private.public_key)
    # GitHub's key ids are opaque numeric strings; derive a stable one from the key
    key_id = str(int.from_bytes(hashlib.sha256(public).digest()[:8], "big"))
    return {
        "key_id": key_id,
        "key": base64.b64encode(public).decode(),
        "private_key": base64.b64encode(bytes(private)).decode(),
    }


def public(pair: dict[str, str]) -> PublicKey:
    return PublicKey(pair["key_id"], pair["key"])


def check_sealed(encrypted_value: str) -> None:
    try:
        raw = base64.b64decode(encrypted_value, validate=True)
    except ValueError:
        raise ForgeError("encrypted_value is not base64") from None
    if len(raw) < 48:  # 32-byte ephemeral key + 16-byte MAC at the least
        raise ForgeError("encrypted_value is too short to be a sealed box")


def decrypt(pair: dict[str, str], encrypted_value: str) -> str:
    box = SealedBox(PrivateKey(base64.b64decode(pair["private_key"])))
    return box.decrypt(base64.b64decode(encrypted_value)).decode()
