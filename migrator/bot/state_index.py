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
    """The latest row of each repository id: the greatest time wins, and on a tie the
    later line (parts in name order)."""
    latest: dict[int, IndexRow] = {}
    if directory.is_dir():
        for part in sorted(directory.glob("*.jsonl")):
            for row in parse_part(part):
                seen = latest.get(row.repo_id)
                if seen is None or row.at >= seen.at:
                    latest[row.repo_id] = row
    return latest


def parse_part(part: Path) -> list[IndexRow]:
    text = part.read_text(encoding="utf-8").rstrip("\n")
    lines = text.split("\n") if text else []
    try:  # one decoder call for the whole part; line by line only if one is torn
        items = json.loads(f"[{','.join(lines)}]")
        assert len(items) == len(lines)
    except (ValueError, AssertionError):
        items = [_decoded(line) for line in lines]
    rows = []
    for data in items:
        try:
            rows.append(IndexRow(int(data["repo_id"]), str(data["feedstock"]),
                                 str(data["status"]), str(data.get("code", "")),
                                 str(data.get("step", "")), str(data["at"])))
        except (ValueError, KeyError, TypeError, AttributeError):
            continue  # a line torn by a crash: the record itself is the truth
    return rows


def _decoded(line: str) -> object:
    try:
        return json.loads(line)
    except ValueError:
        return None
