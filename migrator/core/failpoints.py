"""Named moments where a crash would hurt most (a step recorded, a file placed).

Production code announces them with `reached(name)`; nothing happens unless a hook is
attached. Crash-safety tests attach one from their own harness (`testing/harness`),
which is never installed, so a plain environment variable cannot stop a production run.
"""

from __future__ import annotations

from collections.abc import Callable

_hook: Callable[[str], None] | None = None


def attach(hook: Callable[[str], None] | None) -> None:
    global _hook
    _hook = hook


def reached(point: str) -> None:
    if _hook is not None:
        _hook(point)
