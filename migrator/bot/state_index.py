"""The summary index of a state directory: what `status` and the pending selection read
instead of every record.

    <state>/<migration>/index/<part>.jsonl   one line per change of a feedstock's outcome

Appending a line costs the same however many feedstocks are recorded, and each run
appends to its own part (named after its shard), so scheduled runs on different shards
still commit their state without conflicts. The last line for a repository id wins
(parts are read in order of their lines' times). A record is always written before its
index line, so a crash in between leaves the index behind, never ahead: such a
feedstock is selected again and found finished at once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

SCHEMA = 1


class IndexRow(NamedTuple):
    repo_id: int
    feedstock: str
    status: str
    code: str  # stable reason code of a failure or skip ("" otherwise)
    step: str  # the last step recorded
    at: str  # ISO time of the change

    def to_line(self) -> str:
        return json.dumps(self._asdict(), separators=(",", ":")) + "\n"


def read_rows(directory: Path) -> dict[int, IndexRow]:
    rows: list[IndexRow] = []
    if directory.is_dir():
        for part in sorted(directory.glob("*.jsonl")):
            rows.extend(_parse(part))
    latest: dict[int, IndexRow] = {}
    for row in sorted(rows, key=lambda r: r.at):  # stable: a part's own order kept on ties
        latest[row.repo_id] = row
    return latest


def _parse(part: Path) -> Iterable[IndexRow]:
    with open(part, encoding="utf-8") as handle:
        for line in handle:
            try:
                data = json.loads(line)
                yield IndexRow(int(data["repo_id"]), str(data["feedstock"]),
                               str(data["status"]), str(data.get("code", "")),
                               str(data.get("step", "")), str(data["at"]))
            except (ValueError, KeyError, TypeError):
                continue  # a line torn by a crash: the record itself is the truth


class IndexWriter:
    """Appends one run's rows to its own part; `compact` rewrites the part with one line
    per feedstock at the end of the run."""

    def __init__(self, directory: Path, part: str) -> None:
        self.path = directory / f"{part}.jsonl"
        directory.mkdir(parents=True, exist_ok=True)

    def append(self, row: IndexRow) -> None:
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(row.to_line())
            handle.flush()
            os.fsync(handle.fileno())

    def compact(self) -> None:
        if not self.path.is_file():
            return
        latest = {row.repo_id: row for row in _parse(self.path)}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text("".join(row.to_line() for row in latest.values()), encoding="utf-8")
        os.replace(tmp, self.path)
