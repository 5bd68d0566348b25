"""What the token steps share: per run, the batched token-registry writer; per
feedstock, the plain tokens made in this process (one per CI provider), in memory only."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from migrator.bot.migrations.model import Product, Refusals
from migrator.bot.task import RunContext
from migrator.core.errors import MigratorError
from migrator.core.secret import Secret
from migrator.forges.ci_secrets import StoreAck
from migrator.registries.token_hashing import Entry
from migrator.registries.token_registry import RegistryWriter


@dataclass
class NewToken:
    token: Secret | None  # dropped once verified: from then on only its entry is known
    entry: Entry  # hashed from `token` in this process


@dataclass
class TokenFeedstock:
    tokens: dict[str, NewToken] = field(default_factory=dict)  # by provider
    written: dict[str, StoreAck] = field(default_factory=dict)  # by provider
    outputs: tuple[str, ...] = ()


@dataclass
class TokenRun:
    writer: RegistryWriter | None = None
    registered_at: float = 0.0  # when the last batch of registry changes was pushed
    outputs_pending: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _has_token(data: TokenFeedstock, provider: str | None) -> bool:
    made = data.tokens.get(provider or "")
    return made is not None and made.token is not None


TOKEN: Product[TokenFeedstock] = Product("token", _has_token)
TOKENS = "feedstock-tokens"  # the registry the token steps write to


def writer(context: RunContext[TokenRun]) -> RegistryWriter:
    with context.lock:
        if context.data.writer is None:
            context.data.writer = RegistryWriter(context.forge, context.workroot)
        return context.data.writer


def flush_registry(context: RunContext[TokenRun]) -> Refusals:
    """Write the batch; a failed write is blamed on exactly the feedstocks it carried."""
    registry_writer = writer(context)
    pending = registry_writer.pending_feedstocks()
    if not pending:
        return {}
    try:
        refused = registry_writer.flush(secrets=context.secrets())
    except MigratorError as exc:
        refused = {name: f"token registry write failed: {exc}" for name in pending}
    else:
        context.data.registered_at = time.time()
    return {TOKENS: refused}


def close(context: RunContext[TokenRun]) -> None:
    if context.data.writer is not None:
        context.data.writer.close()
