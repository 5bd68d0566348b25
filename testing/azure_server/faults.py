"""Faults the stand-in injects: server errors, dropped connections (before or after the
request took effect), requests blocked with 429, and real answers that carry Azure
DevOps' delay headers. Drawn at seeded rates, or planned for the next requests."""

from __future__ import annotations

import math
import random
import threading
import time
from collections import Counter, deque

FAULT_KINDS = ("5xx", "drop", "drop-after", "429", "delay")
BLOCKED = ("TF400733: The request has been canceled: Request was blocked due to exceeding "
           "usage of resource 'Core' in namespace 'User'.")


class Faults:
    def __init__(self, rates: dict[str, float] | None = None, *, seed: int = 7,
                 wait: int = 1) -> None:
        unknown = set(rates or {}) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds: {sorted(unknown)}")
        self.rates = dict(rates or {})
        self.wait = wait  # seconds that Retry-After asks for
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._planned: deque[tuple[str, str | None]] = deque()
        self.injected: Counter[str] = Counter()

    def plan(self, *kinds: str, method: str | None = None) -> None:
        """The next requests (of `method`, when given) meet these faults, in order."""
        unknown = set(kinds) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds: {sorted(unknown)}")
        with self._lock:
            self._planned.extend((kind, method) for kind in kinds)

    def draw(self, method: str) -> str | None:
        with self._lock:
            for index, (kind, only) in enumerate(self._planned):
                if only is None or only == method:
                    del self._planned[index]
                    self.injected[kind] += 1
                    return kind
            for kind in FAULT_KINDS:
                rate = self.rates.get(kind, 0.0)
                if rate and self._random.random() < rate:
                    self.injected[kind] += 1
                    return kind
        return None

    def limit_headers(self, *, delayed_by: float) -> dict[str, str]:
        """What Azure DevOps sends with a delayed or blocked request."""
        return {
            "Retry-After": str(self.wait), "X-RateLimit-Resource": "Core",
            "X-RateLimit-Delay": f"{delayed_by:.3f}", "X-RateLimit-Limit": "200",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(math.ceil(time.time() + self.wait)),
        }
