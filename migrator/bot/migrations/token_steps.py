"""Token and secret steps, once per CI provider, shared by `output-validation` and
`rotate-tokens`.

Why this order (create -> register -> write secret -> staging access -> verify ->
expire old):
- The hash is registered before the secret is written, so a CI job can never hold a
  token the validation service does not know: if we die in between, the registry has an
  entry nobody can use (harmless, and expired by the resumed run), never a secret that
  fails validation.
- The plain token exists only in process memory, from creation until it is verified.
  A resumed run that lost it starts over with a fresh token; every salt registered is
  remembered in the state (salts and hashes are public), so the orphan is expired.
- Registering takes a claim on (feedstock, provider) in the registry, in the same
  commit; a run that finds another run's live claim stops there. Only one run at a time
  can write a provider's secret, so whatever the overlap, each provider ends with one
  never-expiring entry and it matches the stored secret.
- Old entries get their expiry last, after every new secret is verified, so a failure
  at any point leaves the previous token working. The grace period outlives the
  longest CI job, so builds that started with the old secret can still publish.
"""

from __future__ import annotations

import hmac
import time

from migrator.bot.migrations.token_data import NewToken, TokenFeedstock, TokenRun, writer
from migrator.bot.outcomes import Skip, StepFailed
from migrator.bot.state import DONE, SKIPPED
from migrator.bot.task import FeedstockTask
from migrator.core.secret import Secret
from migrator.forges.ci_secrets import FEEDSTOCK_TOKEN
from migrator.registries.token_hashing import hash_token
from migrator.registries.token_registry import Change

Task = FeedstockTask[TokenRun, TokenFeedstock]


def create_token(task: Task) -> str:
    provider = task.current_provider
    token = Secret.new_token()
    task.context.remember_secret(token)
    entry = hash_token(token, provider=provider)
    task.data.tokens[provider] = NewToken(token, entry)
    task.record.salts(provider).append(entry.salt)
    task.record.save()  # the salt is on disk before the entry can reach the registry
    return f"created a new {provider} token in memory"


def create_unless_provisioned(task: Task) -> str:
    """output-validation leaves a provider that already has a working token alone;
    replacing a token is `rotate-tokens`' job."""
    provider = task.current_provider
    ours = set(task.record.salts(provider))
    live = [e for e in writer(task.context).entries(task.repo.name)
            if e.is_live(provider) and e.salt not in ours]
    if live and task.context.store(provider).feedstock_token_written(task.repo) is not None:
        raise Skip(f"already provisioned for {provider}: {len(live)} live token entr"
                   f"{'y' if len(live) == 1 else 'ies'} and a {FEEDSTOCK_TOKEN} secret")
    return create_token(task)


def register_hash(task: Task) -> str:
    provider = task.current_provider
    entry = task.data.tokens[provider].entry
    orphans = frozenset(task.record.salts(provider)) - {entry.salt}
    grace = task.context.options.grace_seconds
    writer(task.context).stage(Change(
        task.repo.name, provider=provider, add=(entry,), expire_salts=orphans,
        expires_at=time.time() + grace if orphans else None,
        claim=task.context.options.run_id,
    ))
    if orphans:
        return f"registered a new hash; {len(orphans)} orphaned entr" \
               f"{'y' if len(orphans) == 1 else 'ies'} given an expiry"
    return "registered the token's hash"


def write_secret(task: Task) -> str:
    provider = task.current_provider
    token = task.data.tokens[provider].token
    if token is None:
        raise StepFailed(f"internal: no {provider} token in memory")
    task.data.written[provider] = task.context.store(provider).write_feedstock_token(
        task.repo, token)
    return f"wrote {FEEDSTOCK_TOKEN} for {provider}"


def ensure_staging_access(task: Task) -> str:
    provider = task.current_provider
    task.context.store(provider).ensure_staging_access(task.repo)
    return f"{provider} jobs can read the staging token"


def verify_token(task: Task) -> str:
    provider = task.current_provider
    made = task.data.tokens[provider]
    # The pushed registry must hold our entry, live for this provider, with the hash of
    # the token still in memory: the same check as hashing again, without a second scrypt.
    pushed = [e for e in writer(task.context).entries(task.repo.name)
              if e.salt == made.entry.salt]
    if not any(e.is_live(provider) and hmac.compare_digest(e.hashed_token,
                                                           made.entry.hashed_token)
               for e in pushed):
        raise StepFailed(f"the registry has no live {provider} entry matching the new token")
    ack = (task.data.written.get(provider)
           or task.context.store(provider).feedstock_token_written(task.repo))
    if ack is None:
        raise StepFailed(f"{FEEDSTOCK_TOKEN} for {provider} is missing after it was written")
    if ack.updated_at.timestamp() < int(task.context.data.registered_at):
        raise StepFailed(f"{FEEDSTOCK_TOKEN} for {provider} is older than the registered hash")
    if made.token is not None:  # its work is done: from here on it exists nowhere
        task.context.forget_secret(made.token)
        made.token = None
    return "registry entry and secret agree"


def expire_old_entries(task: Task) -> str:
    """Every entry but the verified new ones gets the grace expiry, and this run's claims
    are released. A provider that was already provisioned (skipped) keeps its entries,
    and then so do entries that name no provider, which its secret may be using. The new
    entries are known by their salts in the state, so a resumed run needs no token."""
    record = task.record
    keep: set[str] = set()
    kept_providers = []
    for provider in record.providers:
        verify = record.step_status(f"verify-token@{provider}")
        if verify == DONE:
            keep.update(record.salts(provider)[-1:])
        elif verify == SKIPPED:
            kept_providers.append(provider)
        else:
            raise StepFailed(f"internal: {provider} has no verified new token to keep")
    entries = writer(task.context).entries(task.repo.name)
    keep.update(e.salt for e in entries if e.provider in kept_providers
                or (kept_providers and e.provider is None))
    if len(kept_providers) == len(record.providers):
        raise Skip("every provider was already provisioned: nothing to expire")
    grace = task.context.options.grace_seconds
    writer(task.context).stage(Change(
        task.repo.name, expire_others=True, keep_salts=frozenset(keep),
        expires_at=time.time() + grace, release=task.context.options.run_id,
    ))
    older = sum(1 for e in entries if e.salt not in keep and e.expires_at is None)
    if not older:
        return "no older entries to expire"
    return f"{older} older entr{'y' if older == 1 else 'ies'} expire in {grace / 3600:g} h"
