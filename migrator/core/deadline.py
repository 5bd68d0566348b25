"""The time one piece of work has left, for the parts of it that can run long.

The bot's runner gives each feedstock a time limit and runs its steps inside `limited`;
git, the recipe sandbox and conda-smithy read `time_left` and bound their own waits by
it. Worker threads cannot be killed from outside, so every long wait has to end by
itself. Waits for a rate-limited service happen inside `paused` and do not count. The
deadline is a context variable: each worker thread sees its own feedstock's.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar

_DEADLINE: ContextVar[float | None] = ContextVar("migrator_deadline", default=None)
# a call made after the deadline still gets this long, so it can fail with its own words
FLOOR = 0.5


@contextlib.contextmanager
def limited(seconds: float | None) -> Iterator[None]:
    """Within the block, the work has `seconds` (None: no limit of its own). An
    enclosing limit that ends sooner still holds."""
    if seconds is None:
        yield
        return
    end = time.monotonic() + max(0.0, seconds)
    outer = _DEADLINE.get()
    token = _DEADLINE.set(end if outer is None else min(end, outer))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """Time spent in the block does not count: a wait for a shared service's permission
    (rate limits, a write queue) is no fault of the work waiting."""
    start = time.monotonic()
    try:
        yield
    finally:
        end = _DEADLINE.get()
        if end is not None:
            _DEADLINE.set(end + (time.monotonic() - start))


def time_left() -> float | None:
    """Seconds until the deadline (negative once past it); None when there is none."""
    end = _DEADLINE.get()
    return None if end is None else end - time.monotonic()


def expired() -> bool:
    left = time_left()
    return left is not None and left <= 0


def cap(seconds: float) -> float:
    """`seconds`, or the time left when that is shorter (at least FLOOR)."""
    left = time_left()
    return seconds if left is None else max(FLOOR, min(seconds, left))
