"""Faults the stand-in injects: a share of requests drawn from a seeded generator, and
faults planned for the next requests that match a method and a path.

    5xx         answer 503 without doing anything
    busy        answer 429 with Retry-After: 0 (anaconda.org's rate limit) without doing anything
    drop        close the connection without an answer, without doing anything
    drop_after  do the work, then close the connection without an answer
    stall       wait `stall` seconds, then do the work and answer (past a client's timeout)
    conflict    answer a copy with 409 without doing anything
"""

from __future__ import annotations

import random
import re
import threading
from collections import Counter
from dataclasses import dataclass

KINDS = ("5xx", "busy", "drop", "drop_after", "stall", "conflict")


@dataclass
class _Planned:
    kind: str
    method: str | None
    path: re.Pattern[str] | None
    remaining: int


class Faults:
    def __init__(self, rates: dict[str, float] | None = None, *, seed: int = 7,
                 stall: float = 1.0) -> None:
        unknown = set(rates or {}) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds: {sorted(unknown)}")
        self.rates = dict(rates or {})
        self.stall = stall
        self.injected: Counter[str] = Counter()
        self._planned: list[_Planned] = []
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def plan(self, kind: str, *, method: str | None = None, path: str | None = None,
             times: int = 1) -> None:
        """Inject `kind` into the next `times` requests whose method is `method` and whose
        path matches the regular expression `path` (searched, not anchored)."""
        if kind not in KINDS:
            raise ValueError(kind)
        with self._lock:
            self._planned.append(_Planned(kind, method, re.compile(path) if path else None,
                                          times))

    def pending(self) -> int:
        with self._lock:
            return sum(p.remaining for p in self._planned)

    def draw(self, method: str, path: str, *, copy: bool) -> str | None:
        with self._lock:
            for planned in self._planned:
                if planned.remaining and (planned.method in (None, method)) and (
                        planned.path is None or planned.path.search(path)):
                    if planned.kind == "conflict" and not copy:
                        continue
                    planned.remaining -= 1
                    self.injected[planned.kind] += 1
                    return planned.kind
            for kind in KINDS:
                rate = self.rates.get(kind, 0.0)
                if kind == "conflict" and not copy:
                    continue
                if rate and self._random.random() < rate:
                    self.injected[kind] += 1
                    return kind
        return None
