"""`output-validation`: switch a feedstock to staging uploads checked by the validation
service: token and secrets first, then the config commit, then the rerender commit."""

from __future__ import annotations

import os
from pathlib import Path

from migrator.bot.migrations import outputs_steps, token_steps
from migrator.bot.migrations.base import Migration, Step
from migrator.bot.outcomes import StepFailed
from migrator.bot.task import FeedstockTask, RunContext
from migrator.bot.workcopy import commit_and_push
from migrator.core import templating
from migrator.core.errors import UserError
from migrator.core.secret import Secret
from migrator.feedstock import cfyml
from migrator.forges.sealing import seal

NAME = "output-validation"
CONFIG = "conda-forge.yml"
RECIPES = ("recipe/meta.yaml", "recipe/recipe.yaml")


def set_config(task: FeedstockTask) -> str:
    outcome: dict[str, str] = {}

    def edit(workdir: Path) -> bool:
        path = workdir / CONFIG
        if not path.is_file():
            raise StepFailed(f"{CONFIG} is missing")
        if not any((workdir / recipe).is_file() for recipe in RECIPES):
            raise StepFailed("no recipe: neither recipe/meta.yaml nor recipe/recipe.yaml exists")
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise StepFailed(f"{CONFIG} is not UTF-8 text") from None
        new = cfyml.enable_output_validation(text)
        if new is None:
            return False
        if not text.strip() or text.strip() in ("[]", "{}"):
            outcome["note"] = f"{CONFIG} was empty; it now holds the key"
        path.write_bytes(new.encode("utf-8"))
        _check_renderable(task, workdir)
        return True

    message = templating.render("commit/output-validation-config.txt.j2", migration=NAME)
    sha = commit_and_push(task, edit=edit, message=message)
    if sha is None:
        return f"{CONFIG} already had {cfyml.KEY}: true"
    return f"pushed {sha[:12]}" + (f" ({outcome['note']})" if "note" in outcome else "")


def _check_renderable(task: FeedstockTask, workdir: Path) -> None:
    """Switching the setting on is only half the change: when the builtin renderer would
    refuse this feedstock, say so now, before the config commit, not after it."""
    if task.context.options.renderer != "builtin":
        return
    from migrator.rerender.builtin import render_feedstock
    from migrator.rerender.workdir import read_inputs

    try:
        render_feedstock(read_inputs(workdir))
    except StepFailed as exc:
        raise StepFailed(f"the CI files could not be rerendered afterwards: {exc}") from None


def rerender(task: FeedstockTask) -> str:
    if task.context.options.renderer == "none":
        return "rerendering is turned off (--renderer none)"
    from migrator.rerender import get_renderer

    renderer = get_renderer(task.context.options.renderer)
    version = renderer.version()

    def edit(workdir: Path) -> bool:
        renderer.render(workdir)
        return True

    message = templating.render("commit/rerender.txt.j2", renderer=renderer.name,
                                version=version)
    sha = commit_and_push(task, edit=edit, message=message)
    if sha is None:
        return f"CI files already up to date ({renderer.name} {version})"
    return f"pushed {sha[:12]} ({renderer.name} {version})"


def setup(context: RunContext) -> None:
    """The staging token is one organisation secret shared by every feedstock, limited to
    the selected feedstock repositories. It is created once with every feedstock of the
    organisation selected (one write for all, whichever shard runs first); a feedstock
    created later is added by `staging-access` with GitHub's per-repository call, which
    only adds, so concurrent runs cannot drop each other's repositories."""
    forge = context.forge
    name = token_steps.STAGING_TOKEN
    if os.environ.get(name):
        context.remember_secret(Secret(os.environ[name]))  # never let it into a commit
    if forge.org_secret(name) is not None:
        return
    everyone = sorted({r.id for r in forge.list_feedstocks() if not r.archived})
    staging = _staging_value()
    context.remember_secret(staging)
    key = forge.org_public_key()
    forge.put_org_secret(name, seal(key, staging), key.key_id, visibility="selected",
                         selected_repository_ids=everyone)


def _staging_value() -> Secret:
    value = os.environ.get(token_steps.STAGING_TOKEN, "").strip()
    if value:
        return Secret(value)
    raise UserError(
        f"organisation secret {token_steps.STAGING_TOKEN} is missing; set it once "
        f"with the {token_steps.STAGING_TOKEN} environment variable"
    )


def flush(context: RunContext) -> dict[str, str]:
    return {**token_steps.flush_registry(context), **outputs_steps.flush_outputs(context)}


MIGRATION = Migration(
    name=NAME,
    summary="provision feedstock tokens and secrets, set conda_forge_output_validation, "
            "rerender",
    steps=(
        *token_steps.PROVISION_STEPS,
        Step("register-outputs", outputs_steps.claim_outputs, batched=True),
        Step("set-config", set_config, per_branch=True),
        Step("rerender", rerender, per_branch=True),
    ),
    setup=setup,
    flush=flush,
)
