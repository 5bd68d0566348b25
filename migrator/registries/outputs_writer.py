"""Register the package names of new feedstocks in the outputs registry.

Many feedstocks go into one commit and one push. The push is never forced: when it
loses a race, the work is rebased by redoing it on the new head (which re-checks that
each name is still free) and pushed again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import NamedTuple

from migrator.core import templating
from migrator.core.git import git
from migrator.feedstock import FeedstockError
from migrator.feedstock.recipe_files import read_recipe_inputs
from migrator.feedstock.recipe_outputs import (
    RecipeError,
    RecipeOutputs,
    recipe_outputs,
)
from migrator.forges import Forge, ForgeError
from migrator.forges.publish import publish
from migrator.forges.remotes import ForgeRemote
from migrator.registries import RegistryError
from migrator.registries import outputs_registry as registry

log = logging.getLogger(__name__)


class Registration(NamedTuple):
    feedstock: str  # without -feedstock
    added: tuple[str, ...] = ()  # newly registered to this feedstock
    already: tuple[str, ...] = ()  # were registered to it before
    taken: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (name, its owners): left alone
    unresolved: tuple[str, ...] = ()  # names the recipe computes from unknown values
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and not self.taken


def read_recipe_files(forge: Forge, feedstock: str) -> dict[str, bytes]:
    """conda-forge.yml and the recipe files where it puts them (recipe_dir)."""
    repo = f"{registry.bare(feedstock)}-feedstock"
    try:
        return read_recipe_inputs(lambda path: forge.read_file(repo, path))
    except FeedstockError as exc:
        raise RecipeError(str(exc)) from None


def register_outputs(
    forge: Forge, feedstocks: Iterable[str] | Mapping[str, Iterable[str]], *,
    workdir: Path, attempts: int = 5,
) -> dict[str, Registration]:
    """Register every free output name of `feedstocks` (names read from each recipe, or
    given in a mapping feedstock -> names). One commit and push for the whole batch."""
    wanted: dict[str, RecipeOutputs] = {}
    failed: dict[str, Registration] = {}
    if isinstance(feedstocks, Mapping):
        for feedstock, names in feedstocks.items():
            given = tuple(sorted({n.lower() for n in names}))
            wanted[registry.bare(feedstock)] = RecipeOutputs(given, ())
    else:
        for feedstock in feedstocks:
            name = registry.bare(feedstock)
            try:
                wanted[name] = recipe_outputs(read_recipe_files(forge, name))
            except (RecipeError, RegistryError) as exc:
                failed[name] = Registration(name, error=str(exc))
    checkout = Path(workdir) / registry.REPO
    branch = _checkout(forge, checkout)
    results: dict[str, Registration] = {}

    def edit(tree: Path) -> bool:
        results.clear()
        results.update({name: _apply(tree, name, outputs) for name, outputs in wanted.items()})
        return any(r.added for r in results.values())

    def message() -> str:
        return templating.render("outputs/register-commit.txt.j2",
                                 registrations=[r for r in results.values() if r.added])

    try:
        publish(checkout, remote=ForgeRemote(forge, registry.REPO), branch=branch,
                edit=edit, message=message, paths=["outputs"], attempts=attempts)
    except ForgeError as exc:
        raise RegistryError(f"{registry.REPO}: {exc}") from None
    return {**results, **failed}


def _checkout(forge: Forge, checkout: Path) -> str:
    if (checkout / ".git").is_dir():
        branch = git("rev-parse", "--abbrev-ref", "HEAD", cwd=checkout).strip()
        forge.fetch(checkout, registry.REPO, branch, depth=1)
        git("reset", "--quiet", "--hard", "FETCH_HEAD", cwd=checkout)
        git("clean", "-qfdx", cwd=checkout)
        return branch
    try:
        forge.clone(registry.REPO, None, checkout, depth=1)
    except ForgeError as exc:
        if "is empty" not in str(exc):
            raise
        checkout.mkdir(parents=True, exist_ok=True)
        git("init", "--quiet", "--initial-branch=main", cwd=checkout)
        return "main"
    return git("rev-parse", "--abbrev-ref", "HEAD", cwd=checkout).strip()


def _apply(checkout: Path, feedstock: str, outputs: RecipeOutputs) -> Registration:
    """Claim the free names for one feedstock; an unreadable registry entry refuses this
    feedstock (and undoes what it claimed here) without touching the rest of the batch."""
    added: list[str] = []
    try:
        return _claim(checkout, feedstock, outputs, added)
    except registry.RegistryError as exc:
        for name in added:
            (checkout / registry.shard_path(name)).unlink(missing_ok=True)
        return Registration(feedstock, error=str(exc))


def _claim(checkout: Path, feedstock: str, outputs: RecipeOutputs,
           added: list[str]) -> Registration:
    already, taken = [], []
    for name in outputs.names:
        path = checkout / registry.shard_path(name)
        if path.is_file():
            owners = registry.parse_entry(path.read_bytes(), where=registry.shard_path(name))
            if feedstock in owners:
                already.append(name)
            else:
                taken.append((name, tuple(owners)))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(registry.dump_entry([feedstock]))
        added.append(name)
    return Registration(feedstock, tuple(added), tuple(already), tuple(taken),
                        outputs.unresolved)
