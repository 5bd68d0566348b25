"""Re-indexing a local channel: incremental (only files without a record are read) or
full (rattler-index reads every package again, in a child process)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from typing import Any, NamedTuple

from migrator.channels.base import DEFAULT_LABEL
from migrator.channels.directory import LocalChannel, record_of
from migrator.channels.dists import BadDist, parse_dist
from migrator.channels.local_index import Entry
from migrator.core.errors import UserError


class Reindexed(NamedTuple):
    subdir: str
    packages: int
    read: int  # package files opened to build records
    dropped: int  # records whose file is gone
    seconds: float


def reindex(channel: LocalChannel, *, full: bool = False) -> list[Reindexed]:
    return [_one(channel, subdir, full=full) for subdir in channel.subdirs()]


def _one(channel: LocalChannel, subdir: str, *, full: bool) -> Reindexed:
    started = time.perf_counter()
    fresh = _rattler_records(channel, subdir) if full else {}
    counts = {"read": len(fresh), "dropped": 0, "packages": 0}

    def build(old: dict[str, Entry]) -> dict[str, Entry]:
        on_disk = set(channel.packages(subdir))
        counts.update(packages=len(on_disk), dropped=len(set(old) - on_disk))
        entries = {}
        for fn in sorted(on_disk):
            record: dict[str, Any] | None = fresh.get(fn)
            if record is None and fn in old:
                entries[fn] = old[fn]
                continue
            if record is None:
                try:
                    dist = parse_dist(f"{subdir}/{fn}")
                except BadDist:
                    continue
                record = record_of(channel.root / subdir / fn, dist)
                counts["read"] += 1
            stamp = old[fn].record.get("indexed_timestamp") if fn in old else None
            record["indexed_timestamp"] = stamp or record.get("indexed_timestamp") or int(
                time.time() * 1000)
            entries[fn] = Entry(record, old[fn].labels if fn in old
                                else frozenset({DEFAULT_LABEL}))
        return entries

    with channel.index.lock(subdir):
        channel.index.rebuild(subdir, build)
    return Reindexed(subdir, counts["packages"], counts["read"], counts["dropped"],
                     time.perf_counter() - started)


def _rattler_records(channel: LocalChannel, subdir: str) -> dict[str, dict[str, Any]]:
    """rattler-index over hard links to the packages, so that it never writes into the
    channel itself: its repodata would list every label's files as `main`."""
    scratch = channel.root / ".index" / f".scratch-{uuid.uuid4().hex[:12]}"
    try:
        (scratch / subdir).mkdir(parents=True)
        (scratch / "noarch").mkdir(exist_ok=True)
        for fn in channel.packages(subdir):
            os.link(channel.root / subdir / fn, scratch / subdir / fn)
        proc = subprocess.run(
            [sys.executable, "-m", "migrator.channels.rattler_index", str(scratch), subdir],
            capture_output=True, text=True,
        )
        if proc.returncode != 0:
            raise UserError(f"re-indexing {channel.name}/{subdir} failed: "
                            f"{proc.stderr.strip() or proc.returncode}")
        data = json.loads((scratch / subdir / "repodata.json").read_text())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return {**data.get("packages", {}), **data.get("packages.conda", {})}
