"""Deterministic crash points for crash-safety tests.

`MIGRATOR_KILL_AT="<step>:<n>"` makes the process SIGKILL itself right after the n-th
time the state records `<step>` as finished (or as staged, for batched steps), which
is exactly the moment a real crash would be worst. Unset, this costs one dict lookup.
"""

from __future__ import annotations

import os
import signal
import threading

_SPEC = os.environ.get("MIGRATOR_KILL_AT", "")
_counts: dict[str, int] = {}
_lock = threading.Lock()


def reached(step: str) -> None:
    if not _SPEC:
        return
    name, _, nth = _SPEC.partition(":")
    if step.split("@")[0] != name:
        return
    with _lock:
        _counts[name] = _counts.get(name, 0) + 1
        if _counts[name] >= int(nth or 1):
            os.kill(os.getpid(), signal.SIGKILL)
