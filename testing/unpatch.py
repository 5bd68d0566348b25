"""The inverse of the validation patch, for tests: remove what turning
`conda_forge_output_validation` on added to a feedstock's rendered CI files.

Applied to files real conda-smithy rendered with validation on, it yields the files as
they would be with validation off; the tests then check that the patch brings back the
original bytes. Whatever this cannot find stays in place, and the tests' own marker scan
reports it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from migrator.rerender.patch import ci_files_of
from migrator.rerender.patch_blocks import locate_block, render_block
from migrator.rerender.patch_lines import Line, Refused, join_lines, split_lines
from migrator.rerender.patch_rules import RULES, VALIDATION_SECRETS, FileRule, SecretList
from migrator.rerender.patch_secrets import secret_runs

UPLOAD_LINE = re.compile(r"^(?P<pre>\s*(?:- cmd: )?upload_package )(?P<rest>.*)$")


def unpatch(files: Mapping[str, bytes]) -> dict[str, bytes]:
    """All of `files`, with the validation edits taken out of the rendered CI files."""
    result = dict(files)
    for path in ci_files_of(files):
        rule = RULES.get(path)
        if rule is not None:
            result[path] = join_lines(_unpatch_lines(path, rule, split_lines(files[path])))
    return result


def _unpatch_lines(path: str, rule: FileRule, lines: list[Line]) -> list[Line]:
    if rule.secrets is not None:
        _drop_secrets(rule, lines)
    if rule.upload_flag is None:
        return lines
    uploads = [i for i, line in enumerate(lines) if UPLOAD_LINE.match(line.text)]
    for index in reversed(uploads):
        _drop_block(path, rule, lines, index)
    for index, line in enumerate(lines):
        match = UPLOAD_LINE.match(line.text)
        if match and match["rest"].startswith(rule.upload_flag):
            rest = match["rest"][len(rule.upload_flag):]
            lines[index] = Line(match["pre"] + rest, line.end)
    return lines


def _drop_secrets(rule: FileRule, lines: list[Line]) -> None:
    form = rule.secrets
    assert form is not None
    for start, names in reversed(secret_runs(form, lines)):
        if isinstance(form, SecretList):
            match = form.pattern.match(lines[start].text)
            assert match is not None
            kept = [name for name in names if name not in VALIDATION_SECRETS]
            lines[start] = Line(match["head"] + ", ".join(kept) + match["tail"],
                                lines[start].end)
            continue
        size = len(form.lines)
        for place in reversed(range(len(names))):
            if names[place] in VALIDATION_SECRETS:
                at = start + place * size
                if at + size == len(lines) and not lines[-1].end and at > 0:
                    lines[at - 1] = Line(lines[at - 1].text, "")
                del lines[at: at + size]


def _drop_block(path: str, rule: FileRule, lines: list[Line], upload: int) -> None:
    try:
        style, start, before = locate_block(path, rule, lines, upload)
        block = render_block(path, style, lines, start, upload)
    except Refused:
        return
    first = before - len(block) + 1
    if first >= 0 and [line.text for line in lines[first: before + 1]] == block:
        del lines[first: before + 1]
