"""Files of one repository read through the forge and kept in memory for a few seconds,
so that requests arriving together (the jobs of one build finishing at once) read a
registry file once.

What was read is used for at most `max_age` seconds. A caller about to refuse on it
asks `reread`: a file read before the request arrived is read again, and the caller
decides again only when it changed, so a token registered a moment ago is never
refused and a refused request costs no more work than before.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import NamedTuple

from migrator.forges import Forge


class _Read(NamedTuple):
    at: float  # time.monotonic() when the read began
    data: bytes | None


class RecentReads:
    def __init__(self, forge: Forge, repo: str, *, max_age: float, size: int = 4096) -> None:
        self.forge, self.repo, self.max_age, self.size = forge, repo, max_age, size
        self.reads = 0  # through the forge
        self._held: OrderedDict[str, _Read] = OrderedDict()
        self._lock = threading.Lock()

    def read(self, path: str) -> bytes | None:
        with self._lock:
            hit = self._held.get(path)
        if hit is not None and time.monotonic() - hit.at <= self.max_age:
            return hit.data
        return self._read(path).data

    def reread(self, path: str, *, newer_than: float) -> bool:
        """Read `path` again unless what is held was read after `newer_than` (a
        `time.monotonic()`); whether it changed."""
        with self._lock:
            hit = self._held.get(path)
        if hit is None or hit.at >= newer_than:
            return False
        return self._read(path).data != hit.data

    def _read(self, path: str) -> _Read:
        began = time.monotonic()
        found = _Read(began, self.forge.read_file(self.repo, path))
        self.reads += 1
        with self._lock:
            held = self._held.get(path)
            if held is None or held.at <= began:
                self._held[path] = found
                self._held.move_to_end(path)
            while len(self._held) > self.size:
                self._held.popitem(last=False)
        return found
