from __future__ import annotations

import difflib
import json
from pathlib import Path

import pytest

from migrator.core.errors import MigratorError
from migrator.feedstock import cfyml

CORPUS = Path(__file__).resolve().parents[2] / "testing" / "corpus" / "feedstocks"
INDEX = {e["feedstock"]: e for e in json.loads((CORPUS / "INDEX.json").read_text())}
LOADABLE = sorted(n for n, e in INDEX.items() if "yaml-error" not in e["traits"]
                  and "merge-conflict-markers" not in e["traits"])
BROKEN = sorted(set(INDEX) - set(LOADABLE))
KEY_LINE = "conda_forge_output_validation: true"


def changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    removed, added = [], []
    for line in difflib.ndiff(before.splitlines(keepends=True), after.splitlines(keepends=True)):
        if line.startswith("- "):
            removed.append(line[2:])
        elif line.startswith("+ "):
            added.append(line[2:])
    return removed, added


@pytest.mark.parametrize("feedstock", LOADABLE)
def test_corpus_file_round_trips_with_only_the_key_line(feedstock: str) -> None:
    raw = (CORPUS / feedstock / "conda-forge.yml").read_bytes()
    text = raw.decode()
    traits = INDEX[feedstock]["traits"]
    if "non-mapping-root" in traits and text.strip() not in ("[]", "{}"):
        with pytest.raises(MigratorError, match="mapping at the top level"):
            cfyml.enable_output_validation(text)
        return
    new = cfyml.enable_output_validation(text)
    if "output-validation-true" in traits:
        assert new is None
        return
    assert new is not None
    removed, added = changed_lines(text, new)
    if text.strip() in ("[]", "{}"):
        assert removed == [text.splitlines(keepends=True)[-1]]
        assert [a.rstrip("\n") for a in added] == [KEY_LINE]
    elif "output-validation-false" in traits:
        assert len(removed) == 1 and len(added) == 1
        assert removed[0].split(":")[0] == added[0].split(":")[0]
        assert added[0].split("#")[0].rstrip() == KEY_LINE
    else:
        assert removed == []
        assert [a.rstrip("\n") for a in added] == [KEY_LINE]
    # the file keeps its ending: a final newline, or none
    assert new.endswith("\n") == text.endswith("\n")
    assert cfyml.is_enabled(new)
    assert cfyml.enable_output_validation(new) is None


@pytest.mark.parametrize("feedstock", BROKEN)
def test_corpus_files_that_do_not_parse_give_a_reason(feedstock: str) -> None:
    text = (CORPUS / feedstock / "conda-forge.yml").read_text()
    with pytest.raises(MigratorError, match=r"not valid YAML: .*\(line \d+, column \d+\)"):
        cfyml.enable_output_validation(text)


@pytest.mark.parametrize(("text", "expected"), [
    ("a: 1\r\nb: 2\r\n", f"{KEY_LINE}\r\na: 1\r\nb: 2\r\n"),
    ("a: 1\nb: 2", f"{KEY_LINE}\na: 1\nb: 2"),
    ("# header\na: 1\n", f"# header\n{KEY_LINE}\na: 1\n"),
    ("conda_forge_output_validation: false  # later\n", f"{KEY_LINE}  # later\n"),
    ("conda_forge_output_validation: 'no'\nx: 1\n", f"{KEY_LINE}\nx: 1\n"),
    ("{a: 1, b: [2]}\n", "{a: 1, b: [2], conda_forge_output_validation: true}\n"),
    ("[]", KEY_LINE),
    ("{}\n", f"{KEY_LINE}\n"),
    ("", f"{KEY_LINE}\n"),
    ("# only a comment\n", f"# only a comment\n{KEY_LINE}\n"),
])
def test_edits_are_minimal(text: str, expected: str) -> None:
    assert cfyml.enable_output_validation(text) == expected


@pytest.mark.parametrize(("text", "reason"), [
    ("a:\n\tb: 1\n", "a tab character where YAML allows none (line 2, column 1)"),
    ("a: 1\na: 2\n", "duplicate key 'a' (line 2, column 1)"),
    ("- a\n- b\n", "mapping at the top level, found a list"),
    ("hello\n", "mapping at the top level, found a str value"),
    ("a: [1\n", "not valid YAML"),
    ("conda_forge_output_validation:\n  nested: true\n", "spans lines"),
])
def test_bad_files_name_the_problem(text: str, reason: str) -> None:
    with pytest.raises(MigratorError) as info:
        cfyml.enable_output_validation(text)
    assert reason in str(info.value)


def test_already_true_is_left_alone() -> None:
    assert cfyml.enable_output_validation("conda_forge_output_validation: true\n") is None


@pytest.mark.parametrize(("text", "expected"), [
    ("  a: 1\n  b: 2\n", f"  {KEY_LINE}\n  a: 1\n  b: 2\n"),
    ("conda_forge_output_validation:\nx: 1\n", f"{KEY_LINE}\nx: 1\n"),
    ("conda_forge_output_validation:   # soon\n", f"{KEY_LINE}   # soon\n"),
    ('conda_forge_output_validation: "a #b"  # c\n', f"{KEY_LINE}  # c\n"),
    ("conda_forge_output_validation: 'it''s #x'\n", f"{KEY_LINE}\n"),
])
def test_edge_cases_stay_minimal(text: str, expected: str) -> None:
    assert cfyml.enable_output_validation(text) == expected


def test_a_merged_key_is_left_to_a_person() -> None:
    text = "base: &b\n  conda_forge_output_validation: false\n<<: *b\nx: 1\n"
    with pytest.raises(MigratorError, match="merge|could not be edited"):
        cfyml.enable_output_validation(text)
