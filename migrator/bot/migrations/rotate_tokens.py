"""`rotate-tokens`: replace every feedstock's token, one per CI provider, without a
moment of downtime.

New hash in, new secret written and verified, and only then do the old entries get an
expiry (the grace period); a failure anywhere before that leaves the old token working.
Each rotation is a generation (`--generation N`, its own state), so tokens can be
rotated again later.
"""

from __future__ import annotations

from migrator.bot.migrations import provider_steps, token_data, token_steps
from migrator.bot.migrations.model import Migration, Step
from migrator.bot.migrations.token_data import TOKEN, TOKENS, TokenFeedstock, TokenRun

NAME = "rotate-tokens"


def migration(generation: int = 1) -> Migration[TokenRun, TokenFeedstock]:
    return Migration(
        name=NAME if generation == 1 else f"{NAME}-{generation}",
        steps=(
            Step("detect-providers", provider_steps.detect_providers),
            Step("create-token", token_steps.create_token, scope="provider", makes=TOKEN),
            Step("register-hash", token_steps.register_hash, scope="provider", needs=TOKEN,
                 batched=True, writes=TOKENS),
            Step("write-secret", token_steps.write_secret, scope="provider", needs=TOKEN),
            Step("verify-token", token_steps.verify_token, scope="provider", needs=TOKEN),
            Step("expire-old", token_steps.expire_old_entries, batched=True,
                 writes=TOKENS),
        ),
        run_data=TokenRun,
        feedstock_data=TokenFeedstock,
        flush=token_data.flush_registry,
        close=token_data.close,
    )


MIGRATION = migration()
