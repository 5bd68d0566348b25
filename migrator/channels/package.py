"""What a package file really is: its hashes, its own `info/index.json`, its members.

Members are read with conda-package-streaming (plain `tarfile` underneath), which shows
every name exactly as stored; extractors that sanitise names on the way out would hide
the very paths this check is for.
"""

from __future__ import annotations

import json
import posixpath
import re
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from conda_package_streaming.package_streaming import stream_conda_component
from rattler import PackageRecord

from migrator.channels.base import Hashes, hash_file
from migrator.channels.dists import Dist

INDEX_JSON = "info/index.json"
_MAX_INDEX_BYTES = 1 << 20
_DRIVE = re.compile(r"^[A-Za-z]:")


class BadPackage(Exception):
    """The file is not a package we may publish; the message says what is wrong."""


class PackageFacts(NamedTuple):
    hashes: Hashes
    index_json: dict[str, Any]
    record: dict[str, Any]  # the repodata record, as rattler builds it from index.json


def inspect_package(path: Path, dist: Dist) -> PackageFacts:
    hashes = hash_file(path)
    raw = _scan(path, dist)
    index = _parse_index(raw)
    _agrees(index, dist)
    return PackageFacts(hashes, index, repodata_record(raw, hashes))


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


def _scan(path: Path, dist: Dist) -> bytes:
    components = ("info", "pkg") if dist.fn.endswith(".conda") else ("all",)
    raw: bytes | None = None
    try:
        for component in components:
            for tar, member in _members(path, dist, component):
                problem = unsafe_member(member)
                if problem:
                    raise BadPackage(f"archive member {member.name!r}: {problem}")
                if member.name == INDEX_JSON and member.isfile():
                    if member.size > _MAX_INDEX_BYTES:
                        raise BadPackage(f"{INDEX_JSON} is implausibly large")
                    handle = tar.extractfile(member)
                    raw = handle.read() if handle is not None else None
    except BadPackage:
        raise
    except Exception as exc:  # zip, zstd, bz2 and tar each fail in their own way
        raise BadPackage(f"not a readable conda package: {type(exc).__name__}: {exc}") from None
    if raw is None:
        raise BadPackage(f"the package has no {INDEX_JSON}")
    return raw


def _members(path: Path, dist: Dist, component: str) -> Iterator[tuple[tarfile.TarFile,
                                                                         tarfile.TarInfo]]:
    # the streamer finds .conda components by the file's own name, so pass the real one
    with open(path, "rb") as handle:
        yield from stream_conda_component(dist.fn, handle, component)


def unsafe_member(member: tarfile.TarInfo) -> str | None:
    """Why a member could write outside the install prefix, or None when it cannot."""
    problem = unsafe_path(member.name)
    if problem:
        return problem
    if member.ischr() or member.isblk() or member.isfifo():
        return "device files and pipes are not allowed"
    if member.islnk():
        problem = unsafe_path(member.linkname)
        return f"hard link target {problem}" if problem else None
    if member.issym():
        target = member.linkname.replace("\\", "/")
        if target.startswith("/") or _DRIVE.match(target):
            return "symbolic link to an absolute path"
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(member.name), target))
        if joined == ".." or joined.startswith("../"):
            return "symbolic link that points outside the package"
    return None


def unsafe_path(name: str) -> str | None:
    text = name.replace("\\", "/")
    if not text:
        return "is empty"
    if text.startswith("/") or _DRIVE.match(text):
        return "is an absolute path"
    if ".." in text.split("/"):
        return "contains '..'"
    return None


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
        if str(found) != expected:
            wrong.append(f"{key} {found!r} (the file name says {expected!r})")
    if wrong:
        raise BadPackage(f"{INDEX_JSON} disagrees with the file name: " + ", ".join(wrong))
