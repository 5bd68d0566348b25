"""Lines of a rendered file as the patch sees them: text and line ending kept apart, so
every byte is written back exactly; and the refusal a patch raises."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

UPLOAD_LINE = re.compile(r"^(?P<pre>\s*(?:- cmd: )?upload_package )(?P<rest>.*)$")
UPLOAD_WINDOW = 12  # lines above `upload_package` searched for the upload section's start


class Refused(Exception):
    """A file the patch does not recognise; the message names the file and the anchor."""


class Line(NamedTuple):
    text: str
    end: str  # "\n", "\r\n" or "" (last line without a newline)


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


def line_end(lines: list[Line]) -> str:
    return "\r\n" if any(line.end == "\r\n" for line in lines) else "\n"


def indent_of(text: str) -> str:
    return text[: len(text) - len(text.lstrip())]
