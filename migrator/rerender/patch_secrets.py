"""The secret edits of the validation patch: FEEDSTOCK_TOKEN and STAGING_BINSTAR_TOKEN put
into their sorted places in each provider's list of secrets passed to the build."""

from __future__ import annotations

import re

from migrator.rerender.patch_lines import Line, Refused, indent_of, insert_lines, line_end
from migrator.rerender.patch_rules import (
    ANCHOR_SECRET,
    VALIDATION_SECRETS,
    SecretForm,
    SecretList,
)


def add_secrets(path: str, form: SecretForm | SecretList, lines: list[Line]) -> None:
    anchors = secret_runs(form, lines)
    if not anchors:
        raise Refused(f"{path}: no '{ANCHOR_SECRET}' secret entry")
    for start, names in reversed(anchors):
        if isinstance(form, SecretList):
            items = list(names)
            for name in VALIDATION_SECRETS:
                if name not in items:
                    items.insert(sorted_place(items, name), name)
            match = form.pattern.match(lines[start].text)
            assert match is not None
            text = match["head"] + ", ".join(items) + match["tail"]
            lines[start] = Line(text, lines[start].end)
            continue
        size = len(form.lines)
        indents = [indent_of(lines[start + k].text) for k in range(size)]
        present = list(names)
        for name in VALIDATION_SECRETS:
            if name in present:
                continue
            place = sorted_place(present, name)
            entry = [indents[k] + text.replace("{name}", name)
                     for k, text in enumerate(form.lines)]
            insert_lines(lines, start + place * size, entry,
                         lines[start].end or line_end(lines))
            present.insert(place, name)


def sorted_place(names: list[str], name: str) -> int:
    return next((i for i, other in enumerate(names) if other > name), len(names))


def secret_runs(form: SecretForm | SecretList, lines: list[Line]
                ) -> list[tuple[int, list[str]]]:
    """Each `BINSTAR_TOKEN` entry's line index and the ascending run of names from it."""
    if isinstance(form, SecretList):
        runs = []
        for index, line in enumerate(lines):
            match = form.pattern.match(line.text)
            if match:
                items = [item.strip() for item in match["items"].split(",") if item.strip()]
                if ANCHOR_SECRET in items:
                    runs.append((index, items))
        return runs
    patterns = [entry_pattern(text) for text in form.lines]
    runs = []
    for index in range(len(lines)):
        if entry_name(patterns, lines, index) != ANCHOR_SECRET:
            continue
        names = [ANCHOR_SECRET]
        at = index + len(patterns)
        while (name := entry_name(patterns, lines, at)) is not None and name > names[-1]:
            names.append(name)
            at += len(patterns)
        runs.append((index, names))
    return runs


def entry_pattern(text: str) -> re.Pattern[str]:
    escaped = re.escape(text).replace(re.escape("{name}"), "(?P<n>[A-Za-z_][A-Za-z0-9_]*)", 1)
    return re.compile(escaped.replace(re.escape("{name}"), "(?P=n)"))


def entry_name(patterns: list[re.Pattern[str]], lines: list[Line], at: int) -> str | None:
    if at + len(patterns) > len(lines):
        return None
    names = set()
    for k, pattern in enumerate(patterns):
        match = pattern.fullmatch(lines[at + k].text.strip())
        if match is None:
            return None
        names.add(match["n"])
    return names.pop() if len(names) == 1 else None
