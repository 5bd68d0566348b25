"""GitHub's limits, scaled down so tests take seconds: a primary budget per identity and
window, ceilings on content-creating requests over sliding windows, and injected faults."""

from __future__ import annotations

import math
import random
import threading
import time
from collections import Counter, deque
from typing import NamedTuple

PRIMARY_MESSAGE = ("API rate limit exceeded for {who}. If you reach out to GitHub Support "
                   "for help, please include the request ID.")
SECONDARY_MESSAGE = ("You have exceeded a secondary rate limit. Please wait a few minutes "
                     "before you try again. If you reach out to GitHub Support for help, "
                     "please include the request ID.")
DOCS = "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api"
FAULT_KINDS = ("5xx", "drop", "primary", "secondary")


class Refusal(NamedTuple):
    status: int
    message: str
    headers: dict[str, str]
    kind: str  # primary | secondary


class Limits:
    def __init__(self, *, primary: int = 5000, window: float = 3600.0,
                 ceilings: tuple[tuple[int, float], ...] = ()) -> None:
        self.primary, self.window, self.ceilings = primary, window, ceilings
        self._lock = threading.Lock()
        self._used: Counter[str] = Counter()
        self._window_start: dict[str, float] = {}
        self._writes: dict[str, deque[float]] = {}
        self.refused: Counter[str] = Counter()

    def _roll(self, identity: str, now: float) -> float:
        start = self._window_start.setdefault(identity, now)
        if now >= start + self.window:
            start = self._window_start[identity] = now
            self._used[identity] = 0
        return start

    def admit(self, identity: str, write: bool) -> Refusal | None:
        """Count one request, or refuse it as GitHub would."""
        now = time.time()
        with self._lock:
            start = self._roll(identity, now)
            if self._used[identity] >= self.primary:
                self.refused["primary"] += 1
                reset = start + self.window
                return Refusal(403, PRIMARY_MESSAGE.format(who=identity), {
                    "x-ratelimit-remaining": "0", "x-ratelimit-reset": str(math.ceil(reset)),
                }, "primary")
            if write and self.ceilings:
                arrivals = self._writes.setdefault(identity, deque())
                longest = max(s for _, s in self.ceilings)
                while arrivals and arrivals[0] <= now - longest:
                    arrivals.popleft()
                for limit, seconds in self.ceilings:
                    recent = [t for t in arrivals if t > now - seconds]
                    if len(recent) >= limit:
                        self.refused["secondary"] += 1
                        wait = recent[-limit] + seconds - now
                        return Refusal(403, SECONDARY_MESSAGE,
                                       {"retry-after": str(max(math.ceil(wait), 1))},
                                       "secondary")
                arrivals.append(now)
            self._used[identity] += 1
        return None

    def refund(self, identity: str) -> None:
        """A 304 to a conditional request costs nothing."""
        with self._lock:
            self._used[identity] = max(self._used[identity] - 1, 0)

    def headers(self, identity: str) -> dict[str, str]:
        now = time.time()
        with self._lock:
            start = self._roll(identity, now)
            used = self._used[identity]
        return {
            "x-ratelimit-limit": str(self.primary),
            "x-ratelimit-remaining": str(max(self.primary - used, 0)),
            "x-ratelimit-reset": str(math.ceil(start + self.window)),
            "x-ratelimit-used": str(used),
            "x-ratelimit-resource": "core",
        }


class Faults:
    """Each kind is injected into a share of requests, drawn from a seeded generator."""

    def __init__(self, rates: dict[str, float] | None = None, *, seed: int = 7,
                 wait: int = 0, git: bool = False) -> None:
        unknown = set(rates or {}) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds: {sorted(unknown)}")
        self.rates = dict(rates or {})
        self.wait = wait  # seconds a limit answer asks for
        self.git = git  # also refuse some git requests with 5xx
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.injected: Counter[str] = Counter()

    def draw(self, *, git: bool = False) -> str | None:
        if git and not self.git:
            return None
        with self._lock:
            for kind in FAULT_KINDS:
                rate = self.rates.get(kind, 0.0)
                if git and kind != "5xx":
                    continue
                if rate and self._random.random() < rate:
                    self.injected["git 5xx" if git else kind] += 1
                    return kind
        return None

    def refusal(self, kind: str, identity: str) -> Refusal:
        reset = str(math.ceil(time.time() + self.wait))
        if kind == "primary":
            return Refusal(403, PRIMARY_MESSAGE.format(who=identity), {
                "x-ratelimit-remaining": "0", "x-ratelimit-reset": reset,
                "retry-after": str(self.wait)}, kind)
        status = 429 if self.injected[kind] % 2 else 403
        return Refusal(status, SECONDARY_MESSAGE, {"retry-after": str(self.wait)}, kind)
