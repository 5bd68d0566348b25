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
