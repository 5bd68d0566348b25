"""Doing together what arrives together (a group commit).

Threads `submit` work; the first finds nothing running and runs a group. Whatever is
submitted while a group runs waits, and the next thread to look runs all of it in one
call. So a costly step (a repodata update, a sync) is paid once per group.

Work known to be on its way (`coming`: a request past its locks, still checking its
files) is waited for, up to `gather` seconds, before a group starts: requests that
arrive together are published together, and a lone one is never delayed.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class _Ticket(Generic[T, R]):
    def __init__(self, items: Sequence[T]) -> None:
        self.items = items
        self.done = False
        self.results: list[R] = []
        self.error: BaseException | None = None


class GroupCommit(Generic[T, R]):
    def __init__(self, run: Callable[[list[T]], list[R]], *, gather: float = 0.0) -> None:
        """`run(items)` returns one result per item, in order."""
        self._run = run
        self.gather = gather
        self._cond = threading.Condition()
        self._queue: list[_Ticket[T, R]] = []
        self._coming = 0
        self._busy = False
        self.groups = 0  # how many times `run` was called

    def waiting(self) -> int:
        """Submissions queued for the next group."""
        with self._cond:
            return len(self._queue)

    @contextlib.contextmanager
    def coming(self) -> Iterator[None]:
        """Held by a caller that will submit (or give up) before it leaves."""
        with self._cond:
            self._coming += 1
        try:
            yield
        finally:
            with self._cond:
                self._coming -= 1
                self._cond.notify_all()

    def submit(self, items: Sequence[T]) -> list[R]:
        """Results for `items`, once a group holding them has run; the exception of
        that group's `run` when it failed. Call inside `coming()` when that was held."""
        ticket: _Ticket[T, R] = _Ticket(items)
        with self._cond:
            self._queue.append(ticket)
            self._cond.notify_all()
            while not ticket.done and self._busy:
                self._cond.wait()
            if ticket.done:
                return self._outcome(ticket)
            self._busy = True
            deadline = time.monotonic() + self.gather
            # those on their way that are not queued yet: each queued ticket of a
            # `coming` caller counts against it
            while self._coming > len(self._queue) and (left := deadline - time.monotonic()) > 0:
                self._cond.wait(left)
            group, self._queue = self._queue, []
            self.groups += 1
        try:
            results = self._run([item for t in group for item in t.items])
            start = 0
            for member in group:
                member.results = results[start:start + len(member.items)]
                start += len(member.items)
        except BaseException as exc:
            for member in group:
                member.error = exc
        finally:
            with self._cond:
                for member in group:
                    member.done = True
                self._busy = False
                self._cond.notify_all()
        return self._outcome(ticket)

    @staticmethod
    def _outcome(ticket: _Ticket[T, R]) -> list[R]:
        if ticket.error is not None:
            raise ticket.error
        return ticket.results
