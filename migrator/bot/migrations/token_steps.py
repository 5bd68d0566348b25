"""Token and secret steps, shared by `output-validation` and `rotate-tokens`.

Why this order (create -> register -> write secret -> staging access -> verify):
- The hash is registered before the secret is written, so a CI job can never hold a
  token the validation service does not know: if we die in between, the registry has an
  entry nobody can use (harmless, and expired by the resumed run), never a secret that
  fails validation.
- The plain token exists only in process memory, from creation until the secret write.
  A resumed run that lost it cannot finish the old attempt, so it starts over with a
  fresh token; every salt this migration registered is remembered in the state (salts
  and hashes are public), so the orphaned entry is found and given an expiry.
- Old entries get their expiry last, after the new secret is verified, so a failure at
  any point leaves the previous token working (rotation).
- The grace period outlives the longest CI job, so builds that started with the old
  secret can still copy their outputs.
"""

from __future__ import annotations

import hmac
import logging
import time

from migrator.bot.migrations.base import Step
from migrator.bot.outcomes import Skip, StepFailed
from migrator.bot.state import DONE
from migrator.bot.task import FeedstockTask, RunContext
from migrator.core.errors import MigratorError
from migrator.core.secret import Secret
from migrator.forges import OrgSecretInfo
from migrator.forges.sealing import seal
from migrator.registries import token_registry as registry
from migrator.registries.token_hashing import Entry, hash_token

log = logging.getLogger("migrator")

FEEDSTOCK_TOKEN = "FEEDSTOCK_TOKEN"
STAGING_TOKEN = "STAGING_BINSTAR_TOKEN"
SALTS = "token_salts"  # every salt this migration registered for the feedstock


def writer(context: RunContext) -> registry.RegistryWriter:
    with context.lock:
        if "registry" not in context.shared:
            context.shared["registry"] = registry.RegistryWriter(context.forge, context.workroot)
        found: registry.RegistryWriter = context.shared["registry"]
        return found


def flush_registry(context: RunContext) -> dict[str, str]:
    """Write the batch; a failed write is blamed on exactly the feedstocks it carried."""
    registry_writer = writer(context)
    pending = registry_writer.pending_feedstocks()
    if not pending:
        return {}
    try:
        refused = registry_writer.flush(secrets=context.secrets())
    except MigratorError as exc:
        return {name: f"token registry write failed: {exc}" for name in pending}
    context.shared["registered_at"] = time.time()
    return refused


def create_token(task: FeedstockTask) -> str:
    token = Secret.new_token()
    task.context.remember_secret(token)
    entry = hash_token(token, provider=task.context.options.provider)
    task.memory["token"] = token
    task.memory["entry"] = entry
    salts = task.record.data.setdefault(SALTS, [])
    salts.append(entry.salt)
    task.record.save()  # the salt is on disk before the entry can reach the registry
    return "created a new token in memory"


def refuse_if_provisioned(task: FeedstockTask) -> str:
    """output-validation leaves a feedstock that already has a working token alone;
    replacing a token is `rotate-tokens`' job."""
    ours = set(task.record.data.get(SALTS, []))
    live = [e for e in writer(task.context).entries(task.repo.name)
            if e.is_live(task.context.options.provider) and e.salt not in ours]
    if live and FEEDSTOCK_TOKEN in task.forge.repo_secrets(task.repo):
        raise Skip(f"already provisioned: {len(live)} live token entr"
                   f"{'y' if len(live) == 1 else 'ies'} and a {FEEDSTOCK_TOKEN} secret")
    return create_token(task)


def register_hash(task: FeedstockTask) -> str:
    entry = task.memory["entry"]
    orphans = frozenset(task.record.data.get(SALTS, [])) - {entry.salt}
    grace = task.context.options.grace_seconds
    writer(task.context).stage(registry.Change(
        task.repo.name, add=(entry,), expire_salts=orphans,
        expires_at=time.time() + grace if orphans else None,
    ))
    task.memory["registered"] = True
    if orphans:
        return f"registered a new hash; {len(orphans)} orphaned entr" \
               f"{'y' if len(orphans) == 1 else 'ies'} given an expiry"
    return "registered the token's hash"


def write_secret(task: FeedstockTask) -> str:
    key = task.forge.repo_public_key(task.repo)
    task.forge.put_repo_secret(task.repo, FEEDSTOCK_TOKEN, seal(key, task.memory["token"]),
                               key.key_id)
    return f"wrote {FEEDSTOCK_TOKEN}"


def ensure_staging_access(task: FeedstockTask) -> str:
    info = staging_secret(task.context)
    if info is None:
        raise StepFailed(f"organisation secret {STAGING_TOKEN} does not exist")
    if info.visibility == "all":
        return f"{STAGING_TOKEN} is visible to all repositories"
    if info.visibility != "selected":
        # GitHub's "private" reaches private and internal repositories only: a public
        # feedstock would build without it and every upload would fail
        raise StepFailed(f"{STAGING_TOKEN} is limited to {info.visibility} repositories, "
                         "which public feedstocks cannot read")
    if task.repo.id in info.selected_repository_ids:
        return f"{STAGING_TOKEN} already selected for this repository"
    task.forge.add_org_secret_repo(STAGING_TOKEN, task.repo)
    return f"added the repository to {STAGING_TOKEN}"


def staging_secret(context: RunContext) -> OrgSecretInfo | None:
    with context.lock:
        if "staging" not in context.shared:
            context.shared["staging"] = context.forge.org_secret(STAGING_TOKEN)
        found: OrgSecretInfo | None = context.shared["staging"]
        return found


def verify_token(task: FeedstockTask) -> str:
    token: Secret = task.memory["token"]
    ours: Entry = task.memory["entry"]  # hashed from `token` in this process
    provider = task.context.options.provider
    # The pushed registry must hold our entry, live, with the hash of the token still in
    # memory. Comparing it with the hash made from that token is the same check as
    # hashing again, without a second scrypt per feedstock.
    pushed = [e for e in writer(task.context).entries(task.repo.name) if e.salt == ours.salt]
    if not any(e.is_live(provider) and hmac.compare_digest(e.hashed_token, ours.hashed_token)
               for e in pushed):
        raise StepFailed("the registry has no live entry matching the new token")
    secret = (task.forge.written_secret(task.repo, FEEDSTOCK_TOKEN)
              or task.forge.repo_secrets(task.repo).get(FEEDSTOCK_TOKEN))
    registered_at = task.context.shared.get("registered_at", 0.0)
    if secret is None:
        raise StepFailed(f"{FEEDSTOCK_TOKEN} is missing after it was written")
    if secret.updated_at.timestamp() < int(registered_at):
        raise StepFailed(f"{FEEDSTOCK_TOKEN} is older than the registered hash")
    # its work is done: from here on the plain token exists nowhere in this process
    task.memory.pop("token", None)
    task.context.forget_secret(token)
    return "registry entry and secret agree"


def expire_old_entries(task: FeedstockTask) -> str:
    """Every entry but the verified new one gets the grace expiry. The new one is known
    by its salt in the state, so a resumed run does this without the plain token."""
    salts = task.record.data.get(SALTS, [])
    if not salts or task.record.step_status("verify-token") != DONE:
        raise StepFailed("internal: no verified new token to keep")
    grace = task.context.options.grace_seconds
    writer(task.context).stage(registry.Change(
        task.repo.name, expire_others=True, keep_salts=frozenset(salts[-1:]),
        expires_at=time.time() + grace,
    ))
    return f"older entries expire in {grace / 3600:g} h"


PROVISION_STEPS = (
    Step("create-token", refuse_if_provisioned, makes="token"),
    Step("register-hash", register_hash, needs="token", batched=True),
    Step("write-secret", write_secret, needs="token"),
    Step("staging-access", ensure_staging_access),
    Step("verify-token", verify_token, needs="token"),
)
