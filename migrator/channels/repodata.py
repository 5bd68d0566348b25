"""Repodata for one label of one subdir: patch instructions applied, JSON assembled.

Patch instructions follow the `patch_instructions.json` format of conda-forge's
repodata patches: `packages` and `packages.conda` map file names to fields to replace
(a null removes the field), `remove` drops files from the index (they are listed under
`removed`), `revoke` keeps them but makes them uninstallable. An instruction for a
`.tar.bz2` name also applies to the `.conda` file of the same build, since both hold
the same package.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

REVOKED_DEPENDENCY = "package_has_been_revoked"
_KEYS = {"packages", "packages.conda", "remove", "revoke", "patch_instructions_version"}


def dumps_record(record: Mapping[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


def check_instructions(data: Any) -> dict[str, Any]:
    """The instructions if well formed; ValueError naming the first problem otherwise."""
    if not isinstance(data, dict):
        raise ValueError("patch instructions must be a JSON object")
    unknown = set(data) - _KEYS
    if unknown:
        raise ValueError(f"unknown patch instruction keys: {', '.join(sorted(unknown))}")
    for key in ("packages", "packages.conda"):
        patches = data.get(key, {})
        if not isinstance(patches, dict) or not all(
                isinstance(k, str) and isinstance(v, dict) for k, v in patches.items()):
            raise ValueError(f"{key!r} must map file names to objects of fields")
    for key in ("remove", "revoke"):
        names = data.get(key, [])
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ValueError(f"{key!r} must be a list of file names")
    return data


def _siblings(fn: str) -> tuple[str, ...]:
    if fn.endswith(".tar.bz2"):
        return fn, fn[: -len(".tar.bz2")] + ".conda"
    return (fn,)


def patched_records(records: Mapping[str, Mapping[str, Any]],
                    instructions: Mapping[str, Any]) -> tuple[dict[str, dict[str, Any]],
                                                              set[str], set[str]]:
    """(fn -> patched record for every file an instruction touches, removed, revoked).
    Untouched files are left out of the first mapping: callers keep their own copy."""
    fields: dict[str, dict[str, Any]] = {}
    for fn, patch in instructions.get("packages", {}).items():
        for name in _siblings(fn):
            fields.setdefault(name, {}).update(patch)
    for fn, patch in instructions.get("packages.conda", {}).items():
        fields.setdefault(fn, {}).update(patch)
    removed = {n for fn in instructions.get("remove", []) for n in _siblings(fn)} & set(records)
    revoked = {n for fn in instructions.get("revoke", []) for n in _siblings(fn)} & set(records)
    patched: dict[str, dict[str, Any]] = {}
    for fn in (set(fields) | revoked) & set(records):
        record = dict(records[fn])
        for key, value in fields.get(fn, {}).items():
            if value is None:
                record.pop(key, None)
            else:
                record[key] = value
        if fn in revoked:
            record["revoked"] = True
            depends = list(record.get("depends", []))
            if REVOKED_DEPENDENCY not in depends:
                depends.append(REVOKED_DEPENDENCY)
            record["depends"] = depends
        patched[fn] = record
    return patched, removed, revoked


def view_text(*, subdir: str, tar: list[str], conda: list[str], removed: Iterable[str],
              base_url: str | None = None) -> str:
    """repodata.json from its entries already serialised ('"<fn>":<record>', in file
    name order), so that an update costs a join rather than serialising every record."""
    info: dict[str, str] = {"subdir": subdir}
    if base_url:
        info["base_url"] = base_url
    return (
        f'{{"info":{dumps_record(info)},"packages":{{{",".join(tar)}}},'
        f'"packages.conda":{{{",".join(conda)}}},'
        f'"removed":{json.dumps(sorted(removed))},"repodata_version":1}}\n'
    )
