"""The validation patch: the edits conda-smithy's templates make when
`conda_forge_output_validation` turns on, applied to a feedstock's existing rendered files.

Nothing else in a file changes: bytes, line endings and a missing final newline are kept.
A file whose layout the rules in `patch_rules` do not recognise is refused with a reason
naming the file and what is missing; the patch never guesses. `unpatch` is the inverse,
for tests that start from feedstocks real conda-smithy rendered with validation on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from migrator.rerender.patch_rules import (
    ANCHOR_SECRET,
    CI_FILES,
    CI_PREFIXES,
    ERRORLEVEL,
    ERRORLEVEL_LINES,
    LEGACY_SCRIPTS,
    MAX_FILE_BYTES,
    RULES,
    VALIDATION_SECRETS,
    BlockStyle,
    FileRule,
    SecretForm,
    SecretList,
)

_UPLOAD = re.compile(r"^(?P<pre>\s*(?:- cmd: )?upload_package )(?P<rest>.*)$")
_WINDOW = 12  # lines above `upload_package` searched for the upload section's start


class PatchResult(NamedTuple):
    changed: dict[str, bytes]  # repo-relative path -> new bytes, only files that change
    refusal: str | None


class Refused(Exception):
    """A file the patch does not recognise; the message names the file and the anchor."""


class Line(NamedTuple):
    text: str
    end: str  # "\n", "\r\n" or "" (last line without a newline)


def ci_files_of(paths: Iterable[str]) -> list[str]:
    """The rendered CI files among repo-relative POSIX paths (odd paths never count)."""
    return sorted({p for p in paths if plain_path(p) and _is_ci(p)})


def plain_path(path: str) -> bool:
    """A relative POSIX path without empty, `.` or `..` parts (nothing else is a file
    of the feedstock)."""
    parts = path.split("/")
    return "\\" not in path and all(part not in ("", ".", "..") for part in parts)


def _is_ci(path: str) -> bool:
    return path in CI_FILES or path.startswith(CI_PREFIXES)


def validation_patch(files: Mapping[str, bytes]) -> PatchResult:
    changed: dict[str, bytes] = {}
    refusals: list[str] = []
    uploads = 0
    for path in ci_files_of(files):
        if LEGACY_SCRIPTS.match(path):
            refusals.append(f"{path}: build script where conda-smithy put it before .scripts/ "
                            "existed, needs a real conda-smithy rerender")
            continue
        rule = RULES.get(path)
        if rule is None:
            continue
        if len(files[path]) > MAX_FILE_BYTES:
            refusals.append(f"{path}: larger than {MAX_FILE_BYTES} bytes")
            continue
        lines = split_lines(files[path])
        try:
            uploads += patch_lines(path, rule, lines)
        except Refused as exc:
            refusals.append(str(exc))
            continue
        data = join_lines(lines)
        if data != files[path]:
            changed[path] = data
    if not refusals and not uploads:
        seen = [p for p in ci_files_of(files) if not p.startswith(".ci_support/")]
        refusals.append("no rendered build script with an 'upload_package' line among "
                        f"{', '.join(seen) or 'no CI files'}, needs a real conda-smithy "
                        "rerender")
    if refusals:
        return PatchResult({}, "; ".join(refusals))
    return PatchResult(changed, None)


def split_lines(data: bytes) -> list[Line]:
    text = data.decode("utf-8", "surrogateescape")
    lines = []
    for match in re.finditer(r"([^\n]*?)(\r?\n|\Z)", text):
        if match.group(0) or match.end() < len(text):
            lines.append(Line(match.group(1), match.group(2)))
    return lines


def join_lines(lines: list[Line]) -> bytes:
    return "".join(t + e for t, e in lines).encode("utf-8", "surrogateescape")


def insert_lines(lines: list[Line], at: int, texts: Iterable[str], eol: str) -> None:
    new = [Line(text, eol) for text in texts]
    if not new:
        return
    if at == len(lines) and lines and not lines[-1].end:
        lines[-1] = Line(lines[-1].text, eol)
        new[-1] = Line(new[-1].text, "")
    lines[at:at] = new


def _eol(lines: list[Line]) -> str:
    return "\r\n" if any(line.end == "\r\n" for line in lines) else "\n"


def _indent(text: str) -> str:
    return text[: len(text) - len(text.lstrip())]


def patch_lines(path: str, rule: FileRule, lines: list[Line]) -> int:
    """Edit `lines` in place; returns how many `upload_package` lines the file has."""
    for pattern, why in rule.refuse_if:
        if any(pattern.search(line.text) for line in lines):
            raise Refused(f"{path}: {why}, needs a real conda-smithy rerender")
    builds = rule.builds is None or any(rule.builds.search(x.text) for x in lines)
    if builds:
        for pattern, why in rule.requires:
            if not any(pattern.search(line.text) for line in lines):
                raise Refused(f"{path}: {why}, needs a real conda-smithy rerender")
    if rule.secrets is not None and builds:
        _add_secrets(path, rule.secrets, lines)
    if rule.upload_flag is None:
        return 0
    uploads = [i for i, line in enumerate(lines) if _UPLOAD.match(line.text)]
    if not uploads and rule.upload_required:
        raise Refused(f"{path}: no 'upload_package' line")
    has_block = any("validate_recipe_outputs" in line.text for line in lines)
    for index in reversed(uploads):
        _flag_upload(lines, index, rule.upload_flag)
        if not has_block:
            at, block = plan_block(path, rule, lines, index)
            insert_lines(lines, at, block, lines[at - 1].end or _eol(lines))
    return len(uploads)


def _flag_upload(lines: list[Line], index: int, flag: str) -> None:
    match = _UPLOAD.match(lines[index].text)
    assert match is not None
    rest = match["rest"]
    if rest.startswith("--validate"):
        return
    if not (flag.endswith(" ") or rest.startswith(" ")):
        rest = " " + rest
    lines[index] = Line(match["pre"] + flag + rest, lines[index].end)


def plan_block(path: str, rule: FileRule, lines: list[Line], upload: int
               ) -> tuple[int, list[str]]:
    """Where the validation block goes (the index it is inserted at) and its lines."""
    style, start, before = locate_block(path, rule, lines, upload)
    if rule.predecessor is not None and not rule.predecessor.search(lines[before].text):
        raise Refused(f"{path}: line {before + 1} before the upload section is not the end "
                      f"of a build step: {lines[before].text.strip()[:60]!r}")
    return before + 1, render_block(path, style, lines, start, upload)


def locate_block(path: str, rule: FileRule, lines: list[Line], upload: int
                 ) -> tuple[BlockStyle, int, int]:
    """The block style, the upload section's first line, and the last non-blank line
    above that section (the block's last line once the block is in place)."""
    for style in rule.styles:
        for start in range(upload - 1, max(-1, upload - 1 - _WINDOW), -1):
            if style.start.match(lines[start].text):
                span = lines[start: upload + 2]
                if style.probe is None or any(style.probe.match(x.text) for x in span):
                    before = start - 1
                    while before >= 0 and not lines[before].text.strip():
                        before -= 1
                    if before < 0:
                        raise Refused(f"{path}: nothing before the upload section")
                    return style, start, before
                break
    raise Refused(f"{path}: no recognised upload section above the 'upload_package' "
                  f"line {upload + 1}")


def render_block(path: str, style: BlockStyle, lines: list[Line], start: int, upload: int
                 ) -> list[str]:
    indent = _indent(lines[start].text)
    block = []
    for text in style.lines:
        if text == ERRORLEVEL:
            text = _errorlevel(path, lines, upload)
        block.append(indent + text if text else "")
    return block


def _errorlevel(path: str, lines: list[Line], upload: int) -> str:
    after = lines[upload + 1].text.strip() if upload + 1 < len(lines) else ""
    if after not in ERRORLEVEL_LINES:
        raise Refused(f"{path}: no errorlevel check after the 'upload_package' line")
    return after


def _add_secrets(path: str, form: SecretForm | SecretList, lines: list[Line]) -> None:
    anchors = secret_runs(form, lines)
    if not anchors:
        raise Refused(f"{path}: no '{ANCHOR_SECRET}' secret entry")
    for start, names in reversed(anchors):
        if isinstance(form, SecretList):
            items = list(names)
            for name in VALIDATION_SECRETS:
                if name not in items:
                    items.insert(_sorted_place(items, name), name)
            match = form.pattern.match(lines[start].text)
            assert match is not None
            text = match["head"] + ", ".join(items) + match["tail"]
            lines[start] = Line(text, lines[start].end)
            continue
        size = len(form.lines)
        indents = [_indent(lines[start + k].text) for k in range(size)]
        present = list(names)
        for name in VALIDATION_SECRETS:
            if name in present:
                continue
            place = _sorted_place(present, name)
            entry = [indents[k] + text.replace("{name}", name)
                     for k, text in enumerate(form.lines)]
            insert_lines(lines, start + place * size, entry,
                         lines[start].end or _eol(lines))
            present.insert(place, name)


def _sorted_place(names: list[str], name: str) -> int:
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
    patterns = [_entry_pattern(text) for text in form.lines]
    runs = []
    for index in range(len(lines)):
        if _entry_name(patterns, lines, index) != ANCHOR_SECRET:
            continue
        names = [ANCHOR_SECRET]
        at = index + len(patterns)
        while (name := _entry_name(patterns, lines, at)) is not None and name > names[-1]:
            names.append(name)
            at += len(patterns)
        runs.append((index, names))
    return runs


def _entry_pattern(text: str) -> re.Pattern[str]:
    escaped = re.escape(text).replace(re.escape("{name}"), "(?P<n>[A-Za-z_][A-Za-z0-9_]*)", 1)
    return re.compile(escaped.replace(re.escape("{name}"), "(?P=n)"))


def _entry_name(patterns: list[re.Pattern[str]], lines: list[Line], at: int) -> str | None:
    if at + len(patterns) > len(lines):
        return None
    names = set()
    for k, pattern in enumerate(patterns):
        match = pattern.fullmatch(lines[at + k].text.strip())
        if match is None:
            return None
        names.add(match["n"])
    return names.pop() if len(names) == 1 else None
