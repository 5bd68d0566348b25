"""The provisioning step that claims a feedstock's package names in the outputs registry.

It runs before the config commit: a feedstock whose names belong to another feedstock
would have every upload refused by the validation service, so it is not switched over
until an admin settles who owns the name.
"""

from __future__ import annotations

import logging

from migrator.bot.outcomes import StepFailed
from migrator.bot.task import FeedstockTask, RunContext
from migrator.core.errors import MigratorError
from migrator.feedstock.recipe_outputs import RECIPE_FILES, RecipeError, recipe_outputs
from migrator.registries.outputs_registry import bare
from migrator.registries.outputs_writer import register_outputs

log = logging.getLogger("migrator")
PENDING = "outputs_pending"


def claim_outputs(task: FeedstockTask) -> str:
    workdir = task.workdir(task.repo.default_branch)
    if not any((workdir / p).is_file() for p in ("recipe/meta.yaml", "recipe/recipe.yaml")):
        raise StepFailed("no recipe: neither recipe/meta.yaml nor recipe/recipe.yaml exists")
    files = {p: (workdir / p).read_bytes() for p in RECIPE_FILES if (workdir / p).is_file()}
    for variant in sorted((workdir / ".ci_support").glob("*.yaml")):
        files[f".ci_support/{variant.name}"] = variant.read_bytes()
    try:
        names = recipe_outputs(files).names
    except RecipeError as exc:
        raise StepFailed(f"cannot tell the recipe's outputs: {exc}") from None
    if not names:
        raise StepFailed("the recipe names no outputs")
    with task.context.lock:
        task.context.shared.setdefault(PENDING, {})[task.repo.name] = names
    return "outputs " + ", ".join(names)


def flush_outputs(context: RunContext) -> dict[str, str]:
    """One registry commit for the whole batch; returns a reason per refused feedstock."""
    with context.lock:
        pending: dict[str, tuple[str, ...]] = context.shared.pop(PENDING, {})
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
