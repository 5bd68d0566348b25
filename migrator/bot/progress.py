"""Progress for `migrator run`: a tqdm bar on a terminal (log lines printed through it,
so they never break it), plain periodic lines elsewhere (CI logs), one tick per
feedstock. The total is what this run will work on, so a resumed run shows progress
from its first feedstock and a capped run ends at 100%."""

from __future__ import annotations

import logging
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import TextIO

from tqdm import tqdm

Budget = Callable[[], str | None]  # what is left of the API budget, in words


class ProgressReporter:
    def __init__(self, *, stream: TextIO | None = None, interval: float = 10.0,
                 budget: Budget | None = None) -> None:
        self.stream = stream or sys.stderr
        self.counts: Counter[str] = Counter()
        self.interval = interval
        self.budget = budget
        self.total = 0
        self._last = time.monotonic()
        self._bar: tqdm[None] | None = None
        self._handler: logging.Handler | None = None

    def start(self, total: int, *, untouched: int = 0) -> None:
        self.total = total
        print(f"progress: {total} feedstocks to work on ({untouched} finished earlier)",
              file=self.stream, flush=True)
        if self.stream.isatty():
            self._bar = tqdm(total=total, file=self.stream, unit="feedstock",
                             dynamic_ncols=True)
            self._route_logs()

    def __call__(self, feedstock: str, outcome: str) -> None:
        self.counts[outcome] += 1
        done = sum(self.counts.values())
        if self._bar is not None:
            self._bar.update(1)
            postfix: dict[str, object] = {k: v for k, v in sorted(self.counts.items())}
            left = self.budget() if self.budget else None
            if left:
                postfix["budget"] = left
            self._bar.set_postfix(postfix, refresh=False)
            return
        now = time.monotonic()
        if now - self._last >= self.interval or done == self.total or done == 1:
            self._last = now
            parts = ", ".join(f"{v} {k}" for k, v in sorted(self.counts.items()))
            left = self.budget() if self.budget else None
            print(f"progress: {done}/{self.total} feedstocks ({parts}); last {feedstock}"
                  + (f"; {left}" if left else ""), file=self.stream, flush=True)

    def _route_logs(self) -> None:
        bar = self._bar

        class _ThroughBar(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                if bar is not None:
                    bar.write(self.format(record))

        root = logging.getLogger()
        self._handler = _ThroughBar()
        self._handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        self._saved = root.handlers[:]
        root.handlers = [self._handler]

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            logging.getLogger().handlers = self._saved
