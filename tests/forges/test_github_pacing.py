"""The write queue on a fake clock: spacing, sliding windows, limit answers, bounded waits,
and the budget it reports."""

from __future__ import annotations

import threading
import time

import pytest

from migrator.forges.pacing import GITHUB_CEILINGS, Ceiling, OutOfBudget, Pacer, limit_kind

PRIMARY = "API rate limit exceeded for installation ID 1."
SECONDARY = "You have exceeded a secondary rate limit. Please wait a few minutes."
EPOCH = 1_700_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def wall(self) -> float:
        return EPOCH + self.now


def pacer(clock: Clock, **kwargs: object) -> Pacer:
    return Pacer(clock=lambda: clock.now, wall=clock.wall, sleep=clock.sleep,
                 **kwargs)  # type: ignore[arg-type]


def sends(p: Pacer, clock: Clock, method: str, count: int, took: float = 0.0) -> list[float]:
    times = []
    for _ in range(count):
        with p.slot(method):
            times.append(round(clock.now, 3))
            clock.sleep(took)
    return times


def test_writes_are_spread_evenly_at_the_tightest_ceiling() -> None:
    clock = Clock()
    p = pacer(clock)
    assert p.spacing == pytest.approx(3600 / 500)  # 500/hour binds before 80/minute
    assert sends(p, clock, "PUT", 4) == [0.0, 7.2, 14.4, 21.6]
    assert p.writes == 4 and p.requests == 4


def test_reads_are_not_spaced() -> None:
    clock = Clock()
    p = pacer(clock)
    assert sends(p, clock, "GET", 5) == [0.0] * 5
    assert p.writes == 0 and p.requests == 5


def test_ceilings_count_writes_from_when_they_end() -> None:
    clock = Clock()
    p = pacer(clock, ceilings=(Ceiling(2, 10.0),))
    # each write takes 4 s: the third may start only when the first's completion
    # (at 4 s) has left the 10 s window, not after the 5 s spacing
    assert sends(p, clock, "POST", 3, took=4.0) == [0.0, 5.0, 14.0]


def test_retry_after_holds_every_request() -> None:
    clock = Clock()
    p = pacer(clock)
    assert p.observe(403, {"Retry-After": "30"}, SECONDARY) == "secondary"
    assert sends(p, clock, "GET", 1) == [30.0]
    assert p.limit_answers == 1 and p.faults == {"secondary": 1}


def test_primary_limit_waits_for_the_reset() -> None:
    clock = Clock()
    p = pacer(clock)
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(EPOCH + 100))}
    assert p.observe(403, headers, PRIMARY) == "primary"
    assert sends(p, clock, "GET", 1) == [101.0]


def test_a_spent_primary_budget_waits_before_any_limit_answer() -> None:
    clock = Clock()
    p = pacer(clock, reserve=5)
    headers = {"X-RateLimit-Remaining": "4", "X-RateLimit-Reset": str(int(EPOCH + 50))}
    assert p.observe(200, headers, None) is None
    assert sends(p, clock, "GET", 1) == [51.0]
    assert p.limit_answers == 0


def test_secondary_answers_without_retry_after_back_off_longer_each_time() -> None:
    clock = Clock()
    p = pacer(clock, secondary_wait=60.0)
    p.observe(429, {}, SECONDARY)
    assert sends(p, clock, "GET", 1) == [60.0]
    p.observe(403, {}, SECONDARY)
    assert sends(p, clock, "GET", 1) == [180.0]
    p.observe(200, {}, None)
    p.observe(403, {}, SECONDARY)
    assert sends(p, clock, "GET", 1) == [240.0]


def test_a_wait_longer_than_allowed_stops_the_run() -> None:
    clock = Clock()
    p = pacer(clock, max_wait=600.0)
    with pytest.raises(OutOfBudget, match=r"wait of 3600s, more than the 600s allowed.*resume"):
        p.observe(403, {"Retry-After": "3600"}, SECONDARY)
    with pytest.raises(OutOfBudget):
        sends(p, clock, "GET", 1)
    assert clock.now == 0.0  # it did not sleep


def test_the_time_budget_bounds_waits() -> None:
    clock = Clock()
    p = pacer(clock, deadline=10.0)
    assert sends(p, clock, "PUT", 2) == [0.0, 7.2]
    with pytest.raises(OutOfBudget, match="time budget"):
        sends(p, clock, "PUT", 1)


def test_server_errors_are_counted_but_hold_nothing() -> None:
    clock = Clock()
    p = pacer(clock)
    assert p.observe(502, {}, None) == "5xx"
    assert sends(p, clock, "GET", 1) == [0.0]
    assert p.faults == {"5xx": 1} and p.limit_answers == 0


def test_budget_reports_what_is_left() -> None:
    clock = Clock()
    p = pacer(clock, deadline=3600.0, reserve=10)
    sends(p, clock, "PUT", 2)
    p.observe(200, {"X-RateLimit-Remaining": "1010", "X-RateLimit-Reset": str(int(EPOCH + 900))},
              None)
    budget = p.budget(requests_per_feedstock=2, writes_per_feedstock=1)
    assert (budget.requests, budget.writes, budget.remaining) == (2, 2, 1010)
    assert budget.resets_in == pytest.approx(900 - 7.2, abs=1)
    assert budget.writes_left == 499  # one at 14.4 s, then one every 7.2 s until 3600 s
    assert budget.feedstocks_left == 499
    tight = p.budget(requests_per_feedstock=4, writes_per_feedstock=1)
    assert tight.feedstocks_left == (1010 - 10) // 4


@pytest.mark.parametrize(("status", "headers", "message", "kind"), [
    (403, {}, PRIMARY, "primary"),
    (403, {"x-ratelimit-remaining": "0"}, "Forbidden", "primary"),
    (429, {}, SECONDARY, "secondary"),
    (403, {"retry-after": "5"}, None, "secondary"),
    (403, {}, "Resource not accessible by integration", None),
    (404, {"retry-after": "5"}, SECONDARY, None),
])
def test_limit_answers_are_told_apart(status: int, headers: dict[str, str],
                                      message: str | None, kind: str | None) -> None:
    assert limit_kind(status, headers, message) == kind


def test_writes_from_many_threads_leave_one_at_a_time() -> None:
    p = Pacer(ceilings=(Ceiling(50, 1.0),))
    starts: list[float] = []
    lock = threading.Lock()
    inside = [0]

    def write() -> None:
        with p.slot("PUT"):
            with lock:
                inside[0] += 1
                assert inside[0] == 1
                starts.append(time.monotonic())
            time.sleep(0.002)
            with lock:
                inside[0] -= 1

    threads = [threading.Thread(target=write) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ordered = sorted(starts)
    gaps = [b - a for a, b in zip(ordered, ordered[1:], strict=False)]
    assert len(starts) == 12 and min(gaps) >= 0.02 - 0.001


def test_github_defaults() -> None:
    assert GITHUB_CEILINGS == (Ceiling(80, 60.0), Ceiling(500, 3600.0))
