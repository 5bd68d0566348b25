"""What a package file really is, and whether it may be published under its name.

A package is refused unless it reads the same to everyone: its archive has exactly one
copy of its metadata (package_archive), none of its members lands outside the install
prefix once its links are followed (package_links), and its `info/index.json` names
the package, version, build and subdir its file name does, the subdir being one conda
knows. `check_new_name` refuses a file whose name differs only in case from one the
channel already publishes: they collide on case-insensitive mirrors and disks.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

from rattler import PackageRecord

from migrator.channels.base import Hashes, hash_file
from migrator.channels.dists import KNOWN_SUBDIRS, Dist
from migrator.channels.package_archive import (
    INDEX_JSON,
    BadPackage,
    read_archive,
    unsafe_member,
    unsafe_path,
)
from migrator.channels.package_links import escaping_member

__all__ = ["BadPackage", "INDEX_JSON", "PackageFacts", "check_new_name", "inspect_package",
           "repodata_record", "unsafe_member", "unsafe_path"]


class PackageFacts(NamedTuple):
    hashes: Hashes
    index_json: dict[str, Any]
    record: dict[str, Any]  # the repodata record, as rattler builds it from index.json


def inspect_package(path: Path, dist: Dist) -> PackageFacts:
    """The facts of the file at `path`, to be published as `dist`; BadPackage when it
    must not be."""
    if dist.subdir not in KNOWN_SUBDIRS:
        raise BadPackage(f"{dist.subdir!r} is not a platform subdir conda knows")
    hashes = hash_file(path)
    archive = read_archive(path, dist.fn)
    escape = escaping_member(archive.members)
    if escape is not None:
        raise BadPackage(f"archive member {escape.member!r}: {escape.reason}")
    index = _parse_index(archive.index_json)
    _agrees(index, dist)
    return PackageFacts(hashes, index, repodata_record(archive.index_json, hashes))


def check_new_name(dist: Dist, existing: Iterable[str]) -> None:
    """Refuse `dist` when one of `existing` (the file names already in its subdir of the
    target channel, and the other files of the same request) differs from its file
    name only in case."""
    folded = dist.fn.casefold()
    for name in existing:
        if name != dist.fn and name.casefold() == folded:
            raise BadPackage(f"{dist.fn} differs only in case from {name}, which is "
                             "published already or named in the same request: the two "
                             "collide on case-insensitive file systems")


def repodata_record(raw_index: bytes, hashes: Hashes) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="index-") as tmp:
        path = Path(tmp) / "index.json"
        path.write_bytes(raw_index)
        try:
            record = PackageRecord.from_index_json(
                path, size=hashes.size, sha256=hashes.sha256, md5=hashes.md5)
        except Exception as exc:  # rattler raises its own error types for each field
            raise BadPackage(f"{INDEX_JSON} is not a valid package record: {exc}") from None
    data: dict[str, Any] = json.loads(record.to_json())
    return data


def _parse_index(raw: bytes) -> dict[str, Any]:
    try:
        index = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BadPackage(f"{INDEX_JSON} is not valid JSON") from None
    if not isinstance(index, dict):
        raise BadPackage(f"{INDEX_JSON} is not a JSON object")
    return index


def _agrees(index: dict[str, Any], dist: Dist) -> None:
    wrong = []
    for key, expected in (("name", dist.name), ("version", dist.version),
                          ("build", dist.build), ("subdir", dist.subdir)):
        found = index.get(key)
        if not isinstance(found, str) or found != expected:
            wrong.append(f"{key} {found!r} (the file name says {expected!r})")
    if wrong:
        raise BadPackage(f"{INDEX_JSON} disagrees with the file name: " + ", ".join(wrong))
