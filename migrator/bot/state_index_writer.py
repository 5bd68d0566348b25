"""Appending a run's rows to its own part of the summary index (described in
`state_index`)."""

from __future__ import annotations

import os
from pathlib import Path

from migrator.bot.state_index import IndexRow
from migrator.bot.state_index_reader import parse_part


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
        latest = {row.repo_id: row for row in parse_part(self.path)}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text("".join(row.to_line() for row in latest.values()), encoding="utf-8")
        os.replace(tmp, self.path)
