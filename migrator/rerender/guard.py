"""The guard in front of every rerender commit, whatever rendered it.

For the validation patch the change may only add validation lines (and put the
`--validate` flag on `upload_package`, or a validation secret into a secrets list); any
other added, deleted or changed line refuses, and so does any file outside the rendered CI
set. A real conda-smithy rerender rewrites far more, so for it only the file set and the
size of the change are checked; the verdict reports the line counts either way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from difflib import SequenceMatcher
from typing import NamedTuple

from migrator.rerender.patch import ci_files_of, plain_path
from migrator.rerender.patch_rules import (
    BLOCK_LINES,
    MAX_FILE_BYTES,
    SECRET_LINE,
    SMITHY_FILES,
    SMITHY_PREFIXES,
    UPLOAD_FLAGS,
    VALIDATION_SECRETS,
    WEAK_LINES,
)

_LINE = re.compile(r"[^\n]*\n|[^\n]+\Z")


class GuardVerdict(NamedTuple):
    ok: bool
    reason: str | None  # counts what it would have changed
    added: int
    removed: int
    files: int


def check_rerender(before: Mapping[str, bytes | None], after: Mapping[str, bytes | None], *,
                   full_rerender: bool = False, max_changed_lines: int = 2000) -> GuardVerdict:
    changed = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
    outside = [p for p in changed if not _allowed(p, full_rerender=full_rerender)]
    huge = [p for p in changed if max(len(before.get(p) or b""), len(after.get(p) or b""))
            > MAX_FILE_BYTES]
    if huge:  # comparing such files line by line costs more than any real rerender needs
        return GuardVerdict(False, f"would change {len(huge)} files larger than "
                            f"{MAX_FILE_BYTES} bytes ({_names(huge)})", 0, 0, len(changed))
    added = removed = 0
    foreign: dict[str, int] = {}
    for path in changed:
        old, new = _lines(before.get(path)), _lines(after.get(path))
        plus, minus, other = _count(old, new, whole=full_rerender or not old or not new)
        added, removed = added + plus, removed + minus
        if other:
            foreign[path] = other
    reason = None
    if outside:
        reason = (f"would change {len(outside)} files outside the rendered CI set "
                  f"({_names(outside)})")
    elif full_rerender and added + removed > max_changed_lines:
        reason = (f"would change {added + removed} lines in {len(changed)} files "
                  f"({_names(changed)}), more than the limit of {max_changed_lines}")
    elif not full_rerender and foreign:
        reason = (f"would change {sum(foreign.values())} non-validation lines in "
                  f"{len(foreign)} files ({_names(sorted(foreign))})")
    return GuardVerdict(reason is None, reason, added, removed, len(changed))


def _allowed(path: str, *, full_rerender: bool) -> bool:
    if ci_files_of([path]) == [path]:
        return True
    if not full_rerender or not plain_path(path):
        return False
    return path in SMITHY_FILES or path.startswith(SMITHY_PREFIXES)


def _names(paths: list[str]) -> str:
    shown = ", ".join(paths[:5])
    return shown + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")


def _lines(data: bytes | None) -> list[str]:
    if data is None:
        return []
    return _LINE.findall(data.decode("utf-8", "surrogateescape"))


def _count(old: list[str], new: list[str], *, whole: bool) -> tuple[int, int, int]:
    """(lines added, lines removed, lines that are not a validation edit)."""
    plus = minus = other = 0
    matcher = SequenceMatcher(None, old, new, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        plus, minus = plus + (j2 - j1), minus + (i2 - i1)
        if whole:
            other += (i2 - i1) + (j2 - j1)
        else:
            other += _foreign(old[i1:i2], new[j1:j2])
    return plus, minus, other


def _foreign(old: list[str], new: list[str]) -> int:
    """Lines of one changed region that are neither validation lines added nor old lines
    that only gained validation text."""
    other = 0
    at = 0
    for line in old:
        match = next((k for k in range(at, len(new)) if _derived(line, new[k])), None)
        if match is None:
            other += 1
            continue
        other += _foreign_added(new[at:match])
        at = match + 1
    return other + _foreign_added(new[at:])


def _foreign_added(lines: list[str]) -> int:
    texts = [line.rstrip("\r\n").strip() for line in lines]
    if all(_validation_line(t) for t in texts) and any(t not in WEAK_LINES for t in texts):
        return 0
    return len(lines)


def _validation_line(text: str) -> bool:
    return text in BLOCK_LINES or SECRET_LINE.match(text) is not None


def _derived(old: str, new: str) -> bool:
    old_text, new_text = old.rstrip("\r\n"), new.rstrip("\r\n")
    old_end, new_end = old[len(old_text):], new[len(new_text):]
    if old_end != new_end and old_end:  # only the former last line may gain a newline
        return False
    if old_text == new_text:
        return True
    for flag in UPLOAD_FLAGS:
        marked = "upload_package " + flag
        if marked in new_text and new_text.replace(marked, "upload_package ", 1) == old_text:
            return True
    listed = new_text
    for name in VALIDATION_SECRETS:
        listed = listed.replace(", " + name, "")
    return listed != new_text and listed == old_text
