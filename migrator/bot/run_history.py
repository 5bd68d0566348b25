"""One line per run: when it ran, what it did, how the whole migration stood after it.

    <state>/<migration>/history/<part>.jsonl

Each run appends to its own part (its shard), like the summary index, so shard runs
commit without conflicts. The job summary and the progress chart are drawn from it.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import NamedTuple


class RunLine(NamedTuple):
    at: str  # ISO time the run ended
    seconds: float
    worked: int  # feedstocks this run finished, failed or skipped
    done: int  # feedstocks done in all, after this run
    failed: int
    skipped: int
    pending: int
    writes: int | None  # content-creating requests the run made (GitHub), when known


def append(directory: Path, part: str, line: RunLine) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / f"{part}.jsonl", "a", encoding="utf-8") as handle:
        handle.write(json.dumps(line._asdict()) + "\n")


def read(directory: Path) -> list[RunLine]:
    lines = []
    for part in sorted(directory.glob("*.jsonl")) if directory.is_dir() else []:
        for text in part.read_text(encoding="utf-8").splitlines():
            try:
                lines.append(RunLine(**json.loads(text)))
            except (ValueError, TypeError):
                continue
    return sorted(lines, key=lambda r: r.at)


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
