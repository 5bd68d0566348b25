"""Encrypt a secret for a repository's or organisation's public key (libsodium sealed box)."""

from __future__ import annotations

import base64

from nacl.public import PublicKey as NaclPublicKey
from nacl.public import SealedBox

from migrator.core.secret import Secret
from migrator.forges import PublicKey


def seal(key: PublicKey, value: Secret) -> str:
    box = SealedBox(NaclPublicKey(base64.b64decode(key.key)))
    return base64.b64encode(box.encrypt(value.reveal().encode())).decode()
