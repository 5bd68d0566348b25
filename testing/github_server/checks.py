"""What a run cost the stand-in GitHub, read from the server's own records (what it must
have left there is `testing.ci_servers`' to check)."""

from __future__ import annotations

import statistics
from collections import Counter
from typing import NamedTuple

from testing.github_server.server import Entry


class Cost(NamedTuple):
    rest: float  # REST requests per feedstock (mean)
    rest_max: int
    writes: float  # content-creating REST requests per feedstock (mean)
    writes_max: int
    git: float  # git HTTP requests per feedstock (mean)
    overhead_rest: int  # organisation-wide REST requests (listing, org secret, registry)
    overhead_git: int


def cost(entries: list[Entry], feedstocks: list[str]) -> Cost:
    rest: Counter[str] = Counter()
    writes: Counter[str] = Counter()
    git: Counter[str] = Counter()
    overhead_rest = overhead_git = 0
    names = set(feedstocks)
    for entry in entries:
        mine = entry.repo in names
        if entry.kind == "api":
            if mine:
                rest[entry.repo or ""] += 1
                writes[entry.repo or ""] += entry.write
            else:
                overhead_rest += 1
        elif mine:
            git[entry.repo or ""] += 1
        else:
            overhead_git += 1
    counts = [rest[n] for n in feedstocks] or [0]
    wcounts = [writes[n] for n in feedstocks] or [0]
    gcounts = [git[n] for n in feedstocks] or [0]
    return Cost(statistics.mean(counts), max(counts), statistics.mean(wcounts), max(wcounts),
                statistics.mean(gcounts), overhead_rest, overhead_git)


def write_rate(entries: list[Entry], feedstocks: list[str]) -> tuple[int, float]:
    """Secret writes of these feedstocks, and their rate (per second) from first to last."""
    names = set(feedstocks)
    times = sorted(e.at for e in entries
                   if e.write and e.repo in names and e.fault is None and e.status < 400)
    if len(times) < 2:
        return len(times), 0.0
    return len(times), (len(times) - 1) / (times[-1] - times[0])
