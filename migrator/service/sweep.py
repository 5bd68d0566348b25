"""The staging sweep: files left on staging and quarantine for longer than two hours
(a CI job that never asked for its copy, a copy that failed) are removed, at most
`limit` per run, each removal logged. Production is never swept.

A file that an open request names is left alone: the journal's active requests are
read, and each removal happens under the same per-name lock the copy pipeline takes,
so a request either finishes with the file or finds it gone and says so.
conda-forge runs its own cleanup hourly; `migrator outputs sweep` is meant for the
same schedule.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

from migrator.channels.anaconda import StoredFile
from migrator.channels.base import Channel
from migrator.channels.directory import LocalChannel
from migrator.channels.dists import BadDist, parse_dist
from migrator.service.journal import Journal
from migrator.service.pipeline import _file_locks

log = logging.getLogger(__name__)
MAX_AGE = 2 * 3600.0
DEFAULT_LIMIT = 1000


class Removed(NamedTuple):
    channel: str
    key: str
    age: float  # seconds since the upload


class SweepReport(NamedTuple):
    removed: list[Removed]
    held: list[str]  # "<channel>:<key>" left for an open request
    failed: list[str]  # "<channel>:<key>: <reason>"
    limited: bool  # stopped at the limit with more to remove


def stored_files(channel: Channel) -> Iterator[StoredFile]:
    listing = getattr(channel, "stored", None)
    if callable(listing):
        yield from listing()
        return
    if not isinstance(channel, LocalChannel):
        raise TypeError(f"{channel.name}: no way to list its files")
    for subdir in channel.subdirs():
        for fn in channel.packages(subdir):
            try:
                dist = parse_dist(f"{subdir}/{fn}")
                mtime = channel.path(dist).stat().st_mtime
            except (BadDist, FileNotFoundError):
                continue
            yield StoredFile(dist, mtime, frozenset())


class _OpenRequests:
    """Output names of the journal's active requests, re-read as requests arrive."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self._known: dict[str, frozenset[str]] = {}

    def holds(self, key: str) -> bool:
        active = self.journal.active_ids()
        for request_id in active:
            if request_id not in self._known:
                record = self.journal.load(request_id) or {}
                outputs = record.get("request", {}).get("outputs", {})
                self._known[request_id] = frozenset(outputs)
        return any(key in self._known[r] for r in active if r in self._known)


def sweep(channels: Sequence[Channel], *, journal: Journal, locks: Path,
          max_age: float = MAX_AGE, limit: int = DEFAULT_LIMIT, now: float | None = None
          ) -> SweepReport:
    now = time.time() if now is None else now
    locks.mkdir(parents=True, exist_ok=True)
    open_requests = _OpenRequests(journal)
    report = SweepReport([], [], [], False)
    for channel in channels:
        for item in stored_files(channel):
            age = now - item.uploaded_at
            if age < max_age:
                continue
            if len(report.removed) >= limit:
                return report._replace(limited=True)
            key = item.dist.key
            where = f"{channel.name}:{key}"
            try:
                with _file_locks(locks, [key], timeout=0):
                    if open_requests.holds(key):
                        report.held.append(where)
                        continue
                    channel.remove(item.dist)
            except TimeoutError:
                report.held.append(where)
                continue
            except Exception as exc:  # one file that cannot go does not stop the sweep
                log.warning("could not sweep %s: %s", where, exc)
                report.failed.append(f"{where}: {exc}")
                continue
            log.info("swept %s from %s, uploaded %.1f h ago", key, channel.name, age / 3600)
            report.removed.append(Removed(channel.name, key, age))
    return report
