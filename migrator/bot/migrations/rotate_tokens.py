"""`rotate-tokens`: replace every feedstock's token without a moment of downtime.

New hash in, new secret written and verified, and only then do the old entries get an
expiry (the grace period); a failure anywhere before that leaves the old token working.
"""

from __future__ import annotations

from migrator.bot.migrations import token_steps
from migrator.bot.migrations.base import Migration, Step

NAME = "rotate-tokens"

MIGRATION = Migration(
    name=NAME,
    summary="replace each feedstock's token; old entries expire after --grace",
    steps=(
        Step("create-token", token_steps.create_token, makes="token"),
        Step("register-hash", token_steps.register_hash, needs="token", batched=True),
        Step("write-secret", token_steps.write_secret, needs="token"),
        Step("verify-token", token_steps.verify_token, needs="token"),
        Step("expire-old", token_steps.expire_old_entries, batched=True),
    ),
    flush=token_steps.flush_registry,
)
