"""The shape of a migration: an ordered list of small named steps per feedstock."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from migrator.bot.task import FeedstockTask, RunContext


class Step(NamedTuple):
    """One idempotent unit of work.

    `run` returns a short detail for the state (never a secret) or raises StepFailed /
    Skip. `per_branch` steps run once for each selected branch. A step that `needs` an
    in-memory product (a plain token) which a resumed run no longer has makes the runner
    go back to the step that `makes` it. `batched` steps only stage their write; the
    runner commits the whole batch with the migration's `flush` before recording them.
    """

    name: str
    run: Callable[[FeedstockTask], str | None]
    per_branch: bool = False
    makes: str | None = None
    needs: str | None = None
    batched: bool = False


class Migration(NamedTuple):
    name: str
    summary: str
    steps: tuple[Step, ...]
    setup: Callable[[RunContext], None] | None = None
    # commits what batched steps staged; returns a reason for each feedstock it refused
    flush: Callable[[RunContext], dict[str, str]] | None = None
