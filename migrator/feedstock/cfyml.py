"""Set one top-level key in conda-forge.yml without touching anything else.

ruamel.yaml (round-trip mode) parses the file to validate it and to locate the key; the
change itself is a minimal text edit at that location, so comments, quoting, key order,
indentation, line endings and a missing final newline all stay exactly as they were.
The result is parsed again and compared with the original plus the key before it is used.

ruamel's round-trip parser is pure Python (seconds per megabyte), and what it builds is
walked in full by the comparison, so every text is first checked against BOUNDS by the
libyaml event scan: size, nesting and alias expansion are refused before ruamel runs.
Real files are tiny (the largest in the corpus is 1.5 KB and 54 nodes).
"""

from __future__ import annotations

import functools
import io
import re
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from migrator.feedstock import FeedstockError
from migrator.feedstock.yamlbounds import Bounds, YamlSyntaxError, check_bounds

KEY = "conda_forge_output_validation"
BOUNDS = Bounds(max_bytes=256 << 10, max_nodes=10_000, max_depth=32)
_EMPTY_FLOW = re.compile(r"^[ \t]*(\[[ \t]*\]|\{[ \t]*\})[ \t]*(#.*)?$")
_DUPLICATE = re.compile(r'found duplicate key "([^"]*)"')
_EMPTY_VALUE = re.compile(r"^(\s*" + KEY + r"\s*:)(\s*(?:#.*)?)$")
_SCALAR_END = re.compile(r"[ \t]+#|[ \t]*$")


def _load(text: str) -> Any:
    syntax: YamlSyntaxError | None = None
    try:
        check_bounds(text, what="conda-forge.yml", bounds=BOUNDS)
    except YamlSyntaxError as exc:
        syntax = exc  # ruamel below names the problem in this module's words
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        data = yaml.load(io.StringIO(text))
    except MarkedYAMLError as exc:
        raise FeedstockError(f"conda-forge.yml is not valid YAML: {_describe(exc)}") from None
    except Exception as exc:  # ruamel raises a few unmarked errors (e.g. bad encodings)
        raise FeedstockError(f"conda-forge.yml is not valid YAML: {exc}") from None
    if syntax is not None:  # libyaml refuses what ruamel accepts: refuse it too
        raise FeedstockError(str(syntax))
    return data


def _describe(exc: MarkedYAMLError) -> str:
    problem = exc.problem or exc.context or "parse error"
    mark = exc.problem_mark or exc.context_mark
    if "\\t" in problem or "'\\t'" in str(exc):
        problem = "a tab character where YAML allows none"
    duplicate = _DUPLICATE.match(problem)
    if duplicate:
        problem = f"duplicate key {duplicate.group(1)!r}"
    if mark is None:
        return problem
    return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def is_enabled(text: str) -> bool:
    data = _load(text)
    return isinstance(data, CommentedMap) and data.get(KEY) is True


def enable_output_validation(text: str) -> str | None:
    """Return the edited text, or None when the key is already true."""
    if len(text) <= _REMEMBERED:
        return _remembered(text)
    return _enable(text)


_REMEMBERED = 64 << 10  # a config is checked before the tokens and edited after: parse once


@functools.lru_cache(maxsize=128)
def _remembered(text: str) -> str | None:
    return _enable(text)


def _enable(text: str) -> str | None:
    data = _load(text)
    nl = _newline(text)
    if data is None or (isinstance(data, (CommentedMap, CommentedSeq)) and len(data) == 0):
        new = _replace_empty(text, nl)
    elif not isinstance(data, CommentedMap):
        kind = "a list" if isinstance(data, list) else f"a {type(data).__name__} value"
        raise FeedstockError(f"conda-forge.yml must hold a mapping at the top level, found {kind}")
    elif KEY in data:
        if data[KEY] is True:
            return None
        new = _replace_value(text, data)
    elif data.fa.flow_style():
        new = _insert_in_flow(text)
    else:
        new = _insert_first(text, data, nl)
    _check(data, new)
    return new


def _line(nl: str) -> str:
    return f"{KEY}: true"


def _replace_empty(text: str, nl: str) -> str:
    lines = text.split(nl)
    for index, line in enumerate(lines):
        if _EMPTY_FLOW.match(line):
            lines[index] = _line(nl)
            return nl.join(lines)
    return _append(text, nl)


def _append(text: str, nl: str) -> str:
    if text == "" or text.endswith(nl):
        return f"{text}{_line(nl)}{nl}"
    # keep the file's missing final newline missing
    return f"{text}{nl}{_line(nl)}"


def _insert_first(text: str, data: CommentedMap, nl: str) -> str:
    # Before the first key: a one-line insertion whatever the file's ending looks like,
    # and the place conda-forge's own admin migrations used.
    first_line, column = data.lc.key(next(iter(data)))
    lines = text.split(nl)
    lines.insert(first_line, " " * column + _line(nl))
    return nl.join(lines)


def _replace_value(text: str, data: CommentedMap) -> str:
    nl = _newline(text)
    lines = text.split(nl)
    try:
        key_line, _ = data.lc.key(KEY)
        line_no, col = data.lc.value(KEY)
    except (KeyError, TypeError):
        raise FeedstockError(f"{KEY} in conda-forge.yml comes from a YAML merge; "
                         "edit it by hand") from None
    if data[KEY] is None:  # `key:` with nothing after it
        match = _EMPTY_VALUE.match(lines[key_line])
        if match is None:
            raise FeedstockError(f"{KEY} in conda-forge.yml has an empty value on its own line")
        lines[key_line] = f"{match.group(1)} true{match.group(2)}"
        return nl.join(lines)
    if line_no != key_line:
        raise FeedstockError(
            f"{KEY} in conda-forge.yml has a value that spans lines; edit it by hand")
    line = lines[line_no]
    lines[line_no] = f"{line[:col]}true{line[_value_end(line, col):]}"
    return nl.join(lines)


def _value_end(line: str, col: int) -> int:
    quote = line[col:col + 1]
    if quote in ("'", '"'):  # a quoted scalar may hold " #": it ends at its closing quote
        close = line.find(quote, col + 1)
        while quote == "'" and close >= 0 and line[close + 1:close + 2] == "'":
            close = line.find(quote, close + 2)
        if close >= 0:
            return close + 1
    end = _SCALAR_END.search(line, col)
    assert end is not None  # the pattern always matches at end of line
    return end.start()


def _insert_in_flow(text: str) -> str:
    close = text.rfind("}")
    if close < 0:
        raise FeedstockError("conda-forge.yml has a flow mapping without a closing brace")
    return f"{text[:close].rstrip()}, {KEY}: true{text[close:]}"


def _check(before: Any, after_text: str) -> None:
    try:
        after = _load(after_text)
    except FeedstockError:
        raise FeedstockError("conda-forge.yml could not be edited without changing other "
                         "content; edit it by hand") from None
    expected = dict(before) if isinstance(before, CommentedMap) else {}
    expected[KEY] = True
    if not isinstance(after, CommentedMap) or _plain(after) != _plain(expected):
        raise FeedstockError("conda-forge.yml could not be edited without changing other content")


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
