"""The provisioning step that claims a feedstock's package names in the outputs registry.

It runs before the config commit: a feedstock whose names belong to another feedstock
would have every upload refused by the validation service, so it is not switched over
until an admin settles who owns the name.
"""

from __future__ import annotations

import logging

from migrator.bot.migrations.token_data import TokenFeedstock, TokenRun
from migrator.bot.outcomes import StepFailed
from migrator.bot.task import FeedstockTask, RunContext
from migrator.core.errors import MigratorError
from migrator.feedstock.recipe_files import commit_recipe_inputs
from migrator.feedstock.recipe_outputs import RecipeError, recipe_outputs
from migrator.registries.outputs_registry import bare
from migrator.registries.outputs_writer import register_outputs

OUTPUTS = "feedstock-outputs"  # the registry `claim_outputs` writes to

log = logging.getLogger("migrator")


def claim_outputs(task: FeedstockTask[TokenRun, TokenFeedstock]) -> str:
    # every file read safely (no symlink, size-bounded), `recipe_dir` honoured; the recipe
    # itself is rendered in a sandboxed child under time and memory limits
    files = commit_recipe_inputs(task.tip(task.repo.default_branch))
    try:
        names = recipe_outputs(files).names
    except RecipeError as exc:
        raise StepFailed(f"cannot tell the recipe's outputs: {exc}",
                         code=exc.code) from None
    if not names:
        raise StepFailed("the recipe names no outputs")
    with task.context.lock:
        task.context.data.outputs_pending[task.repo.name] = names
    return "outputs " + ", ".join(names)


def flush_outputs(context: RunContext[TokenRun]) -> dict[str, str]:
    """One registry commit for the whole batch; returns a reason per refused feedstock."""
    with context.lock:
        pending, context.data.outputs_pending = context.data.outputs_pending, {}
    if not pending:
        return {}
    try:
        results = register_outputs(context.forge, pending,
                                   workdir=context.workroot / "outputs")
    except MigratorError as exc:  # blame this batch's claims only, not other staged steps
        return {name: f"outputs registry write failed: {exc}" for name in pending}
    errors = {}
    for feedstock in pending:
        result = results.get(bare(feedstock))
        if result is None:
            errors[feedstock] = "the outputs registry gave no answer for this feedstock"
        elif result.ok:
            continue
        elif result.error:
            errors[feedstock] = result.error
        else:
            owners = "; ".join(f"{name} belongs to {', '.join(who)}"
                               for name, who in result.taken)
            errors[feedstock] = f"output names taken: {owners}"
    return errors
