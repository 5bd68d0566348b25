"""The shape of a migration: an ordered list of small named steps per feedstock, and the
typed data its steps share (per run `R`, per feedstock `F`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, Literal, TypeVar

if TYPE_CHECKING:
    from migrator.bot.task import FeedstockTask, RunContext

R = TypeVar("R")
F = TypeVar("F")
Scope = Literal["feedstock", "branch", "provider"]
Refusals = dict[str, dict[str, str]]  # registry -> feedstock -> reason


@dataclass(frozen=True)
class Product(Generic[F]):
    """Something a step leaves in a feedstock's memory for later steps (a plain token),
    which a resumed run no longer has. `present(data, provider)` tells whether it is
    there (for the provider of a provider step)."""

    name: str
    present: Callable[[F, str | None], bool]


@dataclass(frozen=True)
class Step(Generic[R, F]):
    """One idempotent unit of work.

    `run` returns a short detail for the state (never a secret) or raises a
    `MigratorError` (recorded as the failure) or `Skip`. A `branch` step runs once per
    selected branch, a `provider` step once per CI provider the feedstock uploads from.
    A step that `needs` a product a resumed run no longer has sends the runner back to
    the step that `makes` it. `batched` steps only stage their write; the runner
    commits the whole batch with the migration's `flush` before recording them; it
    names the registry it `writes` to, and batched steps that follow each other stage
    together when they write to different registries (a registry refuses a feedstock,
    not a step). A step
    that has no `effect` outside the bot's memory (a check, a computation) is recorded
    with the next step's write: a run killed in between runs it again.
    """

    name: str
    run: Callable[[FeedstockTask[R, F]], str | None]
    scope: Scope = "feedstock"
    makes: Product[F] | None = None
    needs: Product[F] | None = None
    batched: bool = False
    writes: str = ""  # of a batched step: the registry it stages into
    effect: bool = True


@dataclass(frozen=True)
class Migration(Generic[R, F]):
    name: str
    steps: tuple[Step[R, F], ...]
    run_data: Callable[[], R]
    feedstock_data: Callable[[], F]
    setup: Callable[[RunContext[R]], None] | None = None
    # commits what batched steps staged; returns, per registry, a reason for each
    # feedstock it refused
    flush: Callable[[RunContext[R]], Refusals] | None = None
    close: Callable[[RunContext[R]], None] | None = None
