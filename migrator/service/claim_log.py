"""The journal's record of names owed to the outputs registry (`claims` commits them).

    requests/claims.log   one JSON line per request that claimed names:
                          {"id", "feedstock", "names", "at"}

A line is appended before the request is answered (an append makes no new file, and
appends of one line do not interleave) and the lines a registry commit holds are
dropped after it, by rewriting the log under a lock that appenders share. Each line
starts on a line of its own, so a line torn by a crash spoils nothing but itself.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from migrator.channels.local_place import write_atomic


class ClaimLog:
    def __init__(self, folder: Path) -> None:
        self.path = str(Path(folder) / "claims.log")
        self._lock = str(Path(folder) / "claims.lock")

    def record(self, request_id: str, feedstock: str, names: list[str]) -> None:
        line = json.dumps({"id": request_id, "feedstock": feedstock, "names": sorted(names),
                           "at": time.time()}, sort_keys=True)
        with self._locked(fcntl.LOCK_SH):
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, f"\n{line}\n".encode())
            finally:
                os.close(fd)

    def pending(self) -> dict[str, dict[str, Any]]:
        """Every recorded claim, by request id, oldest first."""
        found: dict[str, dict[str, Any]] = {}
        for data in self._lines():
            found[data["id"]] = data
        return dict(sorted(found.items(), key=lambda item: (item[1]["at"], item[0])))

    def drop(self, request_ids: Iterable[str]) -> None:
        gone = set(request_ids)
        with self._locked(fcntl.LOCK_EX):
            kept = [data for data in self._lines() if data["id"] not in gone]
            text = "".join(json.dumps(data, sort_keys=True) + "\n" for data in kept)
            write_atomic(self.path, text.encode())

    def _lines(self) -> Iterator[dict[str, Any]]:
        try:
            with open(self.path, encoding="utf-8", errors="replace") as handle:
                lines = handle.read().splitlines()
        except FileNotFoundError:
            return
        for line in lines:
            with contextlib.suppress(ValueError):  # empty, or torn by a crash
                data = json.loads(line)
                if isinstance(data, dict) and {"id", "feedstock", "names", "at"} <= set(data):
                    yield data

    @contextlib.contextmanager
    def _locked(self, mode: int) -> Iterator[None]:
        fd = os.open(self._lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, mode)
            yield
        finally:
            os.close(fd)
