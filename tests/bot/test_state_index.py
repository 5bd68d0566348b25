"""The summary index: status and the pending selection read it, not every record."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from migrator.bot import run_report
from migrator.bot.state import DONE, FAILED, PENDING, SKIPPED, StateDir
from migrator.bot.state_index import IndexRow
from migrator.bot.state_index_reader import read_rows
from migrator.forges import RepoInfo

SCHEMA = Path(__file__).resolve().parents[2] / "migrator" / "bot" / "status.schema.json"


def repo(i: int) -> RepoInfo:
    return RepoInfo(1000 + i, f"pkg{i}-feedstock", "main", False)


def test_each_outcome_is_one_appended_line_and_the_last_wins(tmp_path: Path) -> None:
    state = StateDir(tmp_path, "m")
    record = state.load(repo(1))
    record.set_status("in-progress")
    record.set_status(FAILED, "boom", code="forge", step="write-secret@azure")
    part = tmp_path / "m" / "index" / "all.jsonl"
    assert len(part.read_text().splitlines()) == 2
    assert state.peek(repo(1)) == (FAILED, "forge")
    fresh = StateDir(tmp_path, "m")
    assert fresh.peek(repo(1)) == (FAILED, "forge") and fresh.peek(repo(2)) == (PENDING, "")
    state.compact()
    assert len(part.read_text().splitlines()) == 1


def test_parts_of_shards_merge_and_a_torn_line_is_ignored(tmp_path: Path) -> None:
    a, b = StateDir(tmp_path, "m", part="shard-0-of-2"), StateDir(tmp_path, "m",
                                                                   part="shard-1-of-2")
    a.load(repo(1)).set_status(DONE)
    b.load(repo(2)).set_status(SKIPPED, "archived", code="archived")
    with open(tmp_path / "m" / "index" / "shard-1-of-2.jsonl", "a") as handle:
        handle.write('{"repo_id": 3, "feedst')  # killed mid-line
    rows = read_rows(tmp_path / "m" / "index")
    assert {i: r.status for i, r in rows.items()} == {1001: DONE, 1002: SKIPPED}


def test_a_state_directory_from_before_the_index_is_indexed_once(tmp_path: Path) -> None:
    state = StateDir(tmp_path, "m")
    state.load(repo(1)).set_status(DONE)
    state.load(repo(2)).set_status(FAILED, "x", code="registry")
    for part in (tmp_path / "m" / "index").iterdir():
        part.unlink()
    (tmp_path / "m" / "index").rmdir()
    again = StateDir(tmp_path, "m")
    assert again.peek(repo(2)) == (FAILED, "registry")
    assert (tmp_path / "m" / "index" / "rebuilt.jsonl").is_file()


def test_status_json_follows_its_schema_with_rows_and_totals(tmp_path: Path) -> None:
    state = StateDir(tmp_path, "output-validation")
    state.load(repo(1)).set_status(DONE, step="switch@main")
    state.load(repo(2)).set_status(FAILED, "no", code="appveyor-uploads",
                                   step="detect-providers")
    summary = run_report.collect(state, [repo(1), repo(2), repo(3)])
    jsonschema.validate(summary, json.loads(SCHEMA.read_text()))
    assert summary["totals"] == {"done": 1, "failed": 1, "skipped": 0, "in-progress": 0,
                                 "pending": 1}
    assert summary["reasons"] == {"failed:appveyor-uploads": ["pkg2-feedstock"]}
    rows = {r["name"]: r for r in summary["feedstocks"]}
    assert rows["pkg2-feedstock"]["last_step"] == "detect-providers"
    assert rows["pkg3-feedstock"]["status"] == PENDING


def test_a_torn_line_between_whole_ones_costs_only_itself(tmp_path: Path) -> None:
    state = StateDir(tmp_path, "m")
    state.load(repo(1)).set_status(DONE)
    part = tmp_path / "m" / "index" / "all.jsonl"
    with open(part, "a") as handle:
        handle.write('{"repo_id": 1002, "feedstock": "pkg2-feedst\n')  # killed mid-line
        handle.write("[1, 2]\n")  # not a row at all
    state.load(repo(3)).set_status(FAILED, "x", code="forge")
    rows = read_rows(tmp_path / "m" / "index")
    assert {i: r.status for i, r in rows.items()} == {1001: DONE, 1003: FAILED}


def test_the_latest_time_wins_across_parts_and_the_later_line_on_a_tie(
        tmp_path: Path) -> None:
    index = tmp_path / "index"
    index.mkdir()

    def line(status: str, at: str) -> str:
        return IndexRow(7, "x-feedstock", status, "", "", at).to_line()

    (index / "a.jsonl").write_text(line(DONE, "2026-02-01") + line(FAILED, "2026-01-01"))
    (index / "b.jsonl").write_text(line(SKIPPED, "2026-01-15"))
    assert read_rows(index)[7].status == DONE
    (index / "b.jsonl").write_text(line(SKIPPED, "2026-02-01"))
    assert read_rows(index)[7].status == SKIPPED


def test_the_text_summary_leaves_out_the_rows(tmp_path: Path) -> None:
    state = StateDir(tmp_path, "m")
    state.load(repo(1)).set_status(SKIPPED, "archived", code="archived")
    summary = run_report.collect(state, [repo(1), repo(2)], rows=False)
    assert "feedstocks" not in summary
    assert summary["totals"]["pending"] == 1 and summary["totals"]["skipped"] == 1
    assert summary["reasons"] == {"skipped:archived": ["pkg1-feedstock"]}


def test_a_feedstock_listed_twice_counts_once(tmp_path: Path) -> None:
    state = StateDir(tmp_path, "m")
    state.load(repo(1)).set_status(FAILED, "x", code="forge")
    summary = run_report.collect(state, [repo(1), repo(1), repo(2), repo(2)])
    assert summary["totals"]["failed"] == 1 and summary["totals"]["pending"] == 1
    assert summary["reasons"] == {"failed:forge": ["pkg1-feedstock"]}
    assert [r["name"] for r in summary["feedstocks"]] == ["pkg1-feedstock", "pkg2-feedstock"]


def test_lines_that_only_parse_when_joined_are_read_one_by_one(tmp_path: Path) -> None:
    index = tmp_path / "index"
    index.mkdir()

    def row(repo_id: int) -> str:
        return IndexRow(repo_id, f"x{repo_id}-feedstock", DONE, "", "", "2026-01-01").to_line()

    # three lines that make three rows only once joined: one by one, none is a row
    merged = row(6)[:-2] + ',"x":[{}\n{"repo_id":0}]}\n' + row(5)[:-1] + "," + row(7)
    (index / "a.jsonl").write_text(merged)
    assert read_rows(index) == {}
    (index / "a.jsonl").write_text(merged + row(8))
    assert list(read_rows(index)) == [8]
