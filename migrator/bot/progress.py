"""Progress for `migrator run`: a tqdm bar on a terminal, plain periodic lines elsewhere."""

from __future__ import annotations

import sys
import time
from collections import Counter
from typing import TextIO

from tqdm import tqdm


class ProgressReporter:
    def __init__(self, total: int, *, stream: TextIO | None = None,
                 interval: float = 10.0) -> None:
        self.stream = stream or sys.stderr
        self.total = total
        self.counts: Counter[str] = Counter()
        self.interval = interval
        self._last = time.monotonic()
        self._bar = (tqdm(total=total, file=self.stream, unit="feedstock", dynamic_ncols=True)
                     if self.stream.isatty() else None)

    def __call__(self, feedstock: str, outcome: str) -> None:
        self.counts[outcome] += 1
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix({k: v for k, v in sorted(self.counts.items())}, refresh=False)
            return
        done = sum(self.counts.values())
        now = time.monotonic()
        if now - self._last >= self.interval or done == self.total:
            self._last = now
            parts = ", ".join(f"{v} {k}" for k, v in sorted(self.counts.items()))
            print(f"progress: {done}/{self.total} feedstocks ({parts})", file=self.stream,
                  flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
