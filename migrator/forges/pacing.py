"""One queue for GitHub requests: writes spread evenly under ceilings, reads in parallel.

GitHub's secondary limits count content-creating requests (POST, PUT, PATCH, DELETE):
about 80 a minute and 500 an hour per identity. Writes leave this queue one at a time,
spaced so that the tightest ceiling is never reached, and no closer than the ceilings
allow when counted over a sliding window of completion times (a request is counted
from the moment it ends, so a server that counts arrivals never sees more). Reads run
in parallel up to a small bound. Limit answers (`Retry-After`, an exhausted
`X-RateLimit-Remaining`, a secondary-limit message) hold every request back until
GitHub allows it again; a wait longer than `max_wait` raises `OutOfBudget` instead, so
a run can stop cleanly and resume later.

Other services (Azure DevOps) share the queue with their own `classify` (which answers are
limit answers) and ceilings; an answer it classifies as `SLOW_DOWN` is a real answer that
still holds every request back for its `Retry-After` (or `X-RateLimit-Delay`).
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from typing import NamedTuple

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SLOW_DOWN = "delayed"  # a real answer that asks for the next request to wait
Classify = Callable[[int, Mapping[str, str], str | None], str | None]


class Ceiling(NamedTuple):
    limit: int
    seconds: float


GITHUB_CEILINGS = (Ceiling(80, 60.0), Ceiling(500, 3600.0))


class OutOfBudget(BaseException):
    """GitHub, the ceilings or the time budget ask for a longer wait than allowed.

    Like KeyboardInterrupt it ends the run, not one feedstock: code that carries a run on
    past a failed feedstock (`except Exception`) must not record it as that feedstock's
    failure. The step in progress stays unfinished in the state and resumes next run."""


class Budget(NamedTuple):
    requests: int  # sent by this run, every attempt counted
    writes: int  # content-creating requests among them
    remaining: int | None  # primary limit left, from the last answer (None: not seen yet)
    resets_in: float | None  # seconds until the primary limit resets
    writes_left: int  # writes the ceilings and the time left still allow
    feedstocks_left: int  # feedstocks that fit in what is left of this run
    waited: float  # seconds spent held back by limit answers
    limit_answers: int  # primary and secondary limit answers received
    faults: dict[str, int]  # answers survived, by kind


def limit_kind(status: int, headers: Mapping[str, str], message: str | None) -> str | None:
    """'primary', 'secondary' or None for an answer that is not a rate-limit answer."""
    if status not in (403, 429):
        return None
    from github.Requester import Requester  # GitHub's own wording of its limits; loaded

    text = message or ""  # only when a limit answer comes, so the local forge never pays
    if Requester.isPrimaryRateLimitError(text) or headers.get("x-ratelimit-remaining") == "0":
        return "primary"
    if Requester.isSecondaryRateLimitError(text) or "retry-after" in headers:
        return "secondary"
    return None


class Pacer:
    def __init__(
        self, *, ceilings: tuple[Ceiling, ...] = GITHUB_CEILINGS, max_wait: float = 600.0,
        read_concurrency: int = 8, secondary_wait: float = 60.0, reserve: int = 10,
        deadline: float | None = None, clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep,
        classify: Classify = limit_kind, service: str = "GitHub", read_budget: bool = True,
    ) -> None:
        self.ceilings = ceilings
        self.classify, self.service = classify, service
        # GitHub's X-RateLimit-Remaining counts requests; Azure DevOps' counts abstract
        # load units (TSTUs), which say nothing about how many requests are left
        self.read_budget = read_budget
        self.spacing = max(c.seconds / c.limit for c in ceilings)
        self.max_wait = max_wait
        self.secondary_wait = secondary_wait
        self.reserve = reserve
        self.deadline = deadline  # on `clock`'s scale
        self._clock, self._wall, self._sleep = clock, wall, sleep
        self._reads = threading.BoundedSemaphore(read_concurrency)
        self._write_queue = threading.Lock()
        self._lock = threading.Lock()
        self._done: deque[float] = deque()  # completion times of recent writes
        self._last_write: float | None = None
        self._blocked_until = 0.0
        self._secondary_streak = 0
        self.remaining: int | None = None
        self.reset_at: float | None = None  # wall clock
        self.requests = 0
        self.writes = 0
        self.waited = 0.0
        self.limit_answers = 0
        self.faults: dict[str, int] = {}

    # -- the queue ---------------------------------------------------------------------
    @contextlib.contextmanager
    def slot(self, method: str) -> Iterator[None]:
        """Hold one request's place: the body sends it. Writes leave one at a time."""
        if method.upper() not in WRITE_METHODS:
            with self._reads:
                self._wait_until(self._ready_at)
                self._count(write=False)
                yield
            return
        with self._write_queue:
            self._wait_until(self._write_ready_at)
            with self._lock:
                self._last_write = self._clock()
            self._count(write=True)
            try:
                yield
            finally:
                with self._lock:
                    self._done.append(self._clock())
                    longest = max(c.seconds for c in self.ceilings)
                    while self._done and self._done[0] < self._clock() - longest:
                        self._done.popleft()

    def _count(self, *, write: bool) -> None:
        with self._lock:
            self.requests += 1
            self.writes += int(write)

    def _ready_at(self) -> float:
        """When any request may go: after every hold and, if the primary limit is spent,
        after it resets."""
        with self._lock:
            ready = self._blocked_until
            if (self.remaining is not None and self.remaining <= self.reserve
                    and self.reset_at is not None):
                ready = max(ready, self._clock() + self.reset_at - self._wall() + 1.0)
            return ready

    def _write_ready_at(self) -> float:
        ready = self._ready_at()
        with self._lock:
            if self._last_write is not None:
                ready = max(ready, self._last_write + self.spacing)
            now = self._clock()
            done = list(self._done)
        for ceiling in self.ceilings:
            recent = [t for t in done if t > now - ceiling.seconds]
            if len(recent) >= ceiling.limit:
                ready = max(ready, recent[-ceiling.limit] + ceiling.seconds)
        return ready

    def _wait_until(self, ready_at: Callable[[], float]) -> None:
        while True:
            wait = ready_at() - self._clock()
            if wait <= 0:
                return
            self._check_wait(wait)
            self._sleep(wait)

    def _check_wait(self, wait: float) -> None:
        if wait > self.max_wait:
            raise OutOfBudget(
                f"{self.service}'s limits ask for a wait of {wait:.0f}s, more than the "
                f"{self.max_wait:.0f}s allowed; stop now and resume in a later run")
        if self.deadline is not None and self._clock() + wait > self.deadline:
            raise OutOfBudget(
                f"the next request may go in {wait:.0f}s, after this run's time budget ends; "
                "stop now and resume in a later run")

    # -- what answers tell us ----------------------------------------------------------
    def observe(self, status: int, headers: Mapping[str, str], message: str | None) -> str | None:
        """Read one answer. Returns the kind of fault it is ('primary', 'secondary' or
        '5xx') or None when it is a real answer. Limit answers hold every request back;
        so does a real answer that `classify` calls `SLOW_DOWN`."""
        lower = {k.lower(): v for k, v in headers.items()}
        kind = self.classify(status, lower, message)
        with self._lock:
            if self.read_budget:
                self._read_limits(lower)
            if kind is None:
                if status < 500:
                    self._secondary_streak = 0
                    return None
                kind = "5xx"
                self.faults[kind] = self.faults.get(kind, 0) + 1
                return kind
            self.faults[kind] = self.faults.get(kind, 0) + 1
            if kind == SLOW_DOWN:
                wait = _slow_down_wait(lower)
            else:
                self.limit_answers += 1
                wait = self._limit_wait(kind, lower)
            if lower.get("retry-after", "").isdigit():
                # GitHub: Retry-After, when given, says when to try again, not the reset
                self.remaining = None
            self._blocked_until = max(self._blocked_until, self._clock() + wait)
            self.waited += wait
        self._check_wait(wait)
        return None if kind == SLOW_DOWN else kind

    def _read_limits(self, headers: Mapping[str, str]) -> None:
        remaining, reset = headers.get("x-ratelimit-remaining"), headers.get("x-ratelimit-reset")
        if remaining is not None and remaining.isdigit():
            self.remaining = int(remaining)
        if reset is not None and reset.isdigit():
            self.reset_at = float(reset)

    def _limit_wait(self, kind: str, headers: Mapping[str, str]) -> float:
        retry_after = headers.get("retry-after", "")
        if retry_after.isdigit():
            return float(retry_after)
        if kind == "primary" and self.reset_at is not None:
            return max(self.reset_at - self._wall(), 0.0) + 1.0
        # GitHub: wait at least a minute, then longer after each further answer
        self._secondary_streak += 1
        return self.secondary_wait * 2 ** (self._secondary_streak - 1)

    def note_fault(self, kind: str) -> None:
        with self._lock:
            self.faults[kind] = self.faults.get(kind, 0) + 1

    def backoff(self, seconds: float) -> None:
        """Wait after a server error or a dropped connection, within the same bounds."""
        self._check_wait(seconds)
        self._sleep(seconds)

    # -- the budget --------------------------------------------------------------------
    def budget(self, *, requests_per_feedstock: float = 2.0,
               writes_per_feedstock: float = 1.0) -> Budget:
        now = self._clock()
        left = 3600.0 if self.deadline is None else max(self.deadline - now, 0.0)
        writes_left = self._writes_possible(now, left)
        fit = writes_left / writes_per_feedstock if writes_per_feedstock else math.inf
        with self._lock:
            remaining, reset_at = self.remaining, self.reset_at
            faults = dict(self.faults)
        if remaining is not None and requests_per_feedstock:
            fit = min(fit, max(remaining - self.reserve, 0) / requests_per_feedstock)
        resets_in = None if reset_at is None else max(reset_at - self._wall(), 0.0)
        return Budget(self.requests, self.writes, remaining, resets_in, writes_left,
                      int(fit), self.waited, self.limit_answers, faults)

    def _writes_possible(self, now: float, left: float) -> int:
        start = max(self._write_ready_at(), now) - now
        if start > left:
            return 0
        possible = int((left - start) / self.spacing) + 1
        with self._lock:
            done = list(self._done)
        for ceiling in self.ceilings:
            in_window = sum(1 for t in done if t > now - ceiling.seconds)
            freed = int(left * ceiling.limit / ceiling.seconds)
            possible = min(possible, ceiling.limit - in_window + freed)
        return max(possible, 0)


def _slow_down_wait(headers: Mapping[str, str]) -> float:
    for name in ("retry-after", "x-ratelimit-delay"):
        try:
            return max(float(headers.get(name, "")), 0.0)
        except ValueError:
            continue
    return 0.0
