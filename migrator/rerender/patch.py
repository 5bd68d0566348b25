"""The validation patch: the edits conda-smithy's templates make when
`conda_forge_output_validation` turns on, applied to a feedstock's existing rendered files.

Nothing else in a file changes: bytes, line endings and a missing final newline are kept.
A file whose layout the rules in `patch_rules` do not recognise is refused with a reason
naming the file and what is missing; the patch never guesses. `unpatch` is the inverse,
for tests that start from feedstocks real conda-smithy rendered with validation on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple

from migrator.rerender.patch_blocks import flag_upload, plan_block
from migrator.rerender.patch_lines import (
    UPLOAD_LINE,
    Line,
    Refused,
    insert_lines,
    join_lines,
    line_end,
    split_lines,
)
from migrator.rerender.patch_rules import (
    CI_FILES,
    CI_PREFIXES,
    LEGACY_SCRIPTS,
    MAX_FILE_BYTES,
    RULES,
    FileRule,
)
from migrator.rerender.patch_secrets import add_secrets


class PatchResult(NamedTuple):
    changed: dict[str, bytes]  # repo-relative path -> new bytes, only files that change
    refusal: str | None


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
        add_secrets(path, rule.secrets, lines)
    if rule.upload_flag is None:
        return 0
    uploads = [i for i, line in enumerate(lines) if UPLOAD_LINE.match(line.text)]
    if not uploads and rule.upload_required:
        raise Refused(f"{path}: no 'upload_package' line")
    has_block = any("validate_recipe_outputs" in line.text for line in lines)
    for index in reversed(uploads):
        flag_upload(lines, index, rule.upload_flag)
        if not has_block:
            at, block = plan_block(path, rule, lines, index)
            insert_lines(lines, at, block, lines[at - 1].end or line_end(lines))
    return len(uploads)


