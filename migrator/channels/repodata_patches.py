"""Patch instructions (conda-forge's `patch_instructions.json`): `packages` and
`packages.conda` map file names to fields to replace (a null removes the field), `remove`
drops files from the index (listed under `removed`), `revoke` makes them uninstallable.
A `.tar.bz2` name's instruction also applies to the `.conda` of the same build."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

REVOKED_DEPENDENCY = "package_has_been_revoked"
_KEYS = {"packages", "packages.conda", "remove", "revoke", "patch_instructions_version"}


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


class Patches(NamedTuple):
    """Instructions by file name, each `.tar.bz2` one also under its `.conda` name."""

    fields: dict[str, dict[str, Any]]
    removed: frozenset[str]
    revoked: frozenset[str]


def compile_patches(instructions: Mapping[str, Any]) -> Patches:
    fields: dict[str, dict[str, Any]] = {}
    for fn, patch in instructions.get("packages", {}).items():
        for name in _siblings(fn):
            fields.setdefault(name, {}).update(patch)
    for fn, patch in instructions.get("packages.conda", {}).items():
        fields.setdefault(fn, {}).update(patch)
    return Patches(fields,
                   frozenset(n for fn in instructions.get("remove", []) for n in _siblings(fn)),
                   frozenset(n for fn in instructions.get("revoke", []) for n in _siblings(fn)))


def touches(patches: Patches, fn: str) -> bool:
    return fn in patches.fields or fn in patches.revoked


def patched(patches: Patches, fn: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """`record` as the instructions make it (for a file they touch)."""
    result = dict(record)
    for key, value in patches.fields.get(fn, {}).items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    if fn in patches.revoked:
        result["revoked"] = True
        depends = list(result.get("depends", []))
        if REVOKED_DEPENDENCY not in depends:
            depends.append(REVOKED_DEPENDENCY)
        result["depends"] = depends
    return result
