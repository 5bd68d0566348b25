"""`output-validation`: switch a feedstock to staging uploads checked by the validation
service: its CI providers found, a token per provider registered, written and verified,
older entries expired, its package names claimed, then the config commit and the
rerender commit on every selected branch, pushed together."""

from __future__ import annotations

import os

from migrator.bot.migrations import (
    outputs_steps,
    provider_steps,
    pull_notices,
    switch_steps,
    token_data,
    token_steps,
)
from migrator.bot.migrations.model import Migration, Refusals, Step
from migrator.bot.migrations.outputs_steps import OUTPUTS
from migrator.bot.migrations.token_data import TOKEN, TOKENS, TokenFeedstock, TokenRun
from migrator.bot.task import RunContext
from migrator.core.errors import UserError
from migrator.core.secret import Secret
from migrator.forges.ci_secrets import STAGING_TOKEN

NAME = switch_steps.NAME


def setup(context: RunContext[TokenRun]) -> None:
    """The staging token is one organisation secret shared by every feedstock, limited to
    the selected feedstock repositories. It is created once with every feedstock of the
    organisation selected (one write for all, whichever shard runs first); a feedstock
    created later is added by `staging-access` with GitHub's per-repository call, which
    only adds, so concurrent runs cannot drop each other's repositories."""
    forge = context.forge
    value = os.environ.get(STAGING_TOKEN, "").strip()
    if value:
        context.remember_secret(Secret(value))  # never let it into a commit
    if forge.org_secret(STAGING_TOKEN) is not None:
        return
    if not value:
        raise UserError(f"organisation secret {STAGING_TOKEN} is missing; set it once with "
                        f"the {STAGING_TOKEN} environment variable")
    everyone = sorted({r.id for r in forge.list_feedstocks() if not r.archived})
    forge.write_org_secret(STAGING_TOKEN, Secret(value), visibility="selected",
                           selected_repository_ids=everyone)


def flush(context: RunContext[TokenRun]) -> Refusals:
    return {**token_data.flush_registry(context),
            OUTPUTS: outputs_steps.flush_outputs(context)}


MIGRATION: Migration[TokenRun, TokenFeedstock] = Migration(
    name=NAME,
    steps=(
        Step("check-config", switch_steps.check_config, effect=False),
        Step("detect-providers", provider_steps.detect_providers, effect=False),
        Step("check-renderable", switch_steps.check_renderable, effect=False),
        Step("create-token", token_steps.create_unless_provisioned, scope="provider",
             makes=TOKEN, effect=False),
        Step("register-hash", token_steps.register_hash, scope="provider", needs=TOKEN,
             batched=True, writes=TOKENS),
        Step("write-secret", token_steps.write_secret, scope="provider", needs=TOKEN),
        Step("staging-access", token_steps.ensure_staging_access, scope="provider"),
        Step("verify-token", token_steps.verify_token, scope="provider", needs=TOKEN),
        Step("expire-old", token_steps.expire_old_entries, batched=True, writes=TOKENS),
        Step("register-outputs", outputs_steps.claim_outputs, batched=True,
             writes=OUTPUTS),
        Step("switch", switch_steps.switch, scope="branch"),
        Step("tell-open-pulls", pull_notices.tell_open_pulls),
    ),
    run_data=TokenRun,
    feedstock_data=TokenFeedstock,
    setup=setup,
    flush=flush,
    close=token_data.close,
)
