"""Reading the summary index (described in `state_index`): every part, the latest row
of each feedstock."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from migrator.bot.state_index import IndexRow

_ROW_START = '{"repo_id":'


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
    items: list[Any] = []
    # one decoder call for the whole part when its lines cannot merge when joined; line
    # by line when one is torn or edited, so that it costs only itself
    if _flat_rows(text, len(lines)):
        try:
            items = json.loads(f"[{','.join(lines)}]")
        except ValueError:
            items = []
    if len(items) != len(lines):
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


def _flat_rows(text: str, count: int) -> bool:
    """Whether each of the `count` lines of `text` starts a row and no array is anywhere:
    joined, such lines cannot merge into one value (a string left open swallows only up
    to the next line's first quote; an object cannot hold a bare object)."""
    return (text.startswith(_ROW_START) and "[" not in text
            and text.count("\n" + _ROW_START) == count - 1)


def _decoded(line: str) -> object:
    try:
        return json.loads(line)
    except ValueError:
        return None
