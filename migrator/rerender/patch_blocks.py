"""The "Validating outputs" block of the validation patch: where it goes above the upload
section, in the style of the template version that rendered the script."""

from __future__ import annotations

from migrator.rerender.patch_lines import (
    UPLOAD_LINE,
    UPLOAD_WINDOW,
    Line,
    Refused,
    indent_of,
)
from migrator.rerender.patch_rules import (
    ERRORLEVEL,
    ERRORLEVEL_LINES,
    BlockStyle,
    FileRule,
)


def flag_upload(lines: list[Line], index: int, flag: str) -> None:
    match = UPLOAD_LINE.match(lines[index].text)
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
        for start in range(upload - 1, max(-1, upload - 1 - UPLOAD_WINDOW), -1):
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
    indent = indent_of(lines[start].text)
    block = []
    for text in style.lines:
        if text == ERRORLEVEL:
            text = errorlevel_of(path, lines, upload)
        block.append(indent + text if text else "")
    return block


def errorlevel_of(path: str, lines: list[Line], upload: int) -> str:
    after = lines[upload + 1].text.strip() if upload + 1 < len(lines) else ""
    if after not in ERRORLEVEL_LINES:
        raise Refused(f"{path}: no errorlevel check after the 'upload_package' line")
    return after
