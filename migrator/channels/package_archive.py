"""The members of a package archive, read once, and the rules that make its layout plain.

A package must read the same to every tool: an installer streaming the file, a full
re-index, this service. So every copy of its metadata must be the only copy. In a
`.tar.bz2` no name appears twice once `./`, `//` and `\\` are normalised (nor, under
`info/`, twice ignoring case, as macOS and Windows would write it). A `.conda` is a
zip of exactly `metadata.json`, `info-<stem>.tar.zst` and `pkg-<stem>.tar.zst`, laid
end to end so a streaming reader sees the same entries as one that reads the central
directory; only its `info` component holds `info/` members. Names are read as stored
(conda-package-streaming over plain `tarfile`): extractors that sanitise names on the
way out would hide the very paths this is for.
"""

from __future__ import annotations

import re
import struct
import tarfile
import zipfile
from pathlib import Path
from typing import BinaryIO, NamedTuple

from conda_package_streaming.package_streaming import stream_conda_component

from migrator.core.errors import MigratorError

INDEX_JSON = "info/index.json"
MAX_MEMBERS = 500_000
_MAX_INDEX_BYTES = 1 << 20
_DRIVE = re.compile(r"^[A-Za-z]:")
_LOCAL_HEADER = struct.Struct("<4sHHHHHLLLHH")
_DESCRIPTOR = b"PK\x07\x08"


class BadPackage(MigratorError):
    """The file is not a package we may publish; the message says what is wrong."""


class Member(NamedTuple):
    name: str  # normalised: "/" separators, no "." or empty parts
    kind: str  # "file", "dir", "symlink" or "hardlink"
    target: str  # a link's target, "/"-separated as stored; "" for others
    component: str  # "info" or "pkg" in a .conda, "all" in a .tar.bz2


class Archive(NamedTuple):
    members: tuple[Member, ...]
    index_json: bytes


def normalise(name: str) -> str:
    return "/".join(p for p in name.replace("\\", "/").split("/") if p not in ("", "."))


def in_info(name: str) -> bool:
    return name.casefold() == "info" or name.casefold().startswith("info/")


def read_archive(path: Path, fn: str) -> Archive:
    """Every member and the one `info/index.json`; BadPackage for anything unplain."""
    members: list[Member] = []
    index: list[bytes] = []
    try:
        with open(path, "rb") as handle:
            if fn.endswith(".conda"):
                with zipfile.ZipFile(handle) as zf:
                    _check_zip(zf, handle, fn[: -len(".conda")])
                    for component in ("info", "pkg"):
                        _read(stream_conda_component(fn, handle, component, zf=zf),
                              component, members, index)
            else:
                _read(stream_conda_component(fn, handle), "all", members, index)
    except BadPackage:
        raise
    except Exception as exc:  # zip, zstd, bz2 and tar each fail in their own way
        raise BadPackage(f"not a readable conda package: {type(exc).__name__}: {exc}") from None
    _check_names(members)
    if not index:
        raise BadPackage(f"the package has no {INDEX_JSON}")
    return Archive(tuple(members), index[0])


def _read(stream: object, component: str, members: list[Member], index: list[bytes]) -> None:
    for tar, info in stream:  # type: ignore[attr-defined]
        problem = unsafe_member(info)
        if problem:
            raise BadPackage(f"archive member {info.name!r}: {problem}")
        name = normalise(info.name)
        if not name:  # "." or "./": the prefix itself
            if info.isdir():
                continue
            raise BadPackage(f"archive member {info.name!r} names no file")
        if component == "info" and not in_info(name):
            raise BadPackage(f"archive member {info.name!r} is outside info/ in the info part")
        if component == "pkg" and in_info(name):
            raise BadPackage(f"archive member {info.name!r}: info/ belongs in the info part")
        kind = ("symlink" if info.issym() else "hardlink" if info.islnk()
                else "dir" if info.isdir() else "file")
        target = info.linkname.replace("\\", "/") if kind in ("symlink", "hardlink") else ""
        members.append(Member(name, kind, target, component))
        if len(members) > MAX_MEMBERS:
            raise BadPackage(f"the package has more than {MAX_MEMBERS} members")
        if name.casefold() == INDEX_JSON and kind == "file" and not index:
            if info.size > _MAX_INDEX_BYTES:
                raise BadPackage(f"{INDEX_JSON} is implausibly large")
            handle = tar.extractfile(info)
            index.append(handle.read() if handle is not None else b"")


def _check_names(members: list[Member]) -> None:
    seen: set[str] = set()
    for member in members:
        key = member.name.casefold() if in_info(member.name) else member.name
        if key in seen:
            raise BadPackage(f"archive member {member.name!r} appears more than once")
        seen.add(key)
        if member.name.casefold() == INDEX_JSON and member.kind != "file":
            raise BadPackage(f"{INDEX_JSON} is a {member.kind}, not a file")
        if member.kind in ("symlink", "hardlink") and member.name.casefold().count("/") == 1 \
                and in_info(member.name):
            raise BadPackage(f"archive member {member.name!r}: package metadata is a link")


def _check_zip(zf: zipfile.ZipFile, handle: BinaryIO, stem: str) -> None:
    infos = zf.infolist()
    names = [i.filename for i in infos]
    expected = {"metadata.json", f"info-{stem}.tar.zst", f"pkg-{stem}.tar.zst"}
    if len(names) != len(set(names)) or set(names) != expected:
        raise BadPackage("a .conda must hold exactly metadata.json, "
                         f"info-{stem}.tar.zst and pkg-{stem}.tar.zst, each once")
    offset = 0
    for info in sorted(infos, key=lambda i: i.header_offset):
        if info.header_offset != offset:
            raise BadPackage(f"the zip has hidden data before {info.filename}")
        offset = _entry_end(handle, info)
    if offset != zf.start_dir:
        raise BadPackage("the zip has hidden data before its directory")


def _entry_end(handle: BinaryIO, info: zipfile.ZipInfo) -> int:
    """Where the entry at `info.header_offset` ends, read from its local header: the
    name there must be the directory's name."""
    handle.seek(info.header_offset)
    fields = _LOCAL_HEADER.unpack(handle.read(_LOCAL_HEADER.size))
    signature, flags, size, name_len, extra_len = (fields[0], fields[2], fields[7],
                                                   fields[9], fields[10])
    name = handle.read(name_len).decode("utf-8" if flags & 0x800 else "cp437")
    if signature != b"PK\x03\x04" or name != info.filename:
        raise BadPackage(f"the zip's entry for {info.filename} does not match its directory")
    end = info.header_offset + _LOCAL_HEADER.size + name_len + extra_len + info.compress_size
    if flags & 0x08:  # sizes follow the data in a descriptor
        handle.seek(end)
        end += (4 if handle.read(4) == _DESCRIPTOR else 0) + (20 if size == 0xFFFFFFFF else 12)
    return end


def unsafe_member(member: tarfile.TarInfo) -> str | None:
    """Why a member could write outside the install prefix on its own, or None.
    Links that escape only in combination are found by package_links."""
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
        if not target:
            return "symbolic link with an empty target"
        if target.startswith("/") or _DRIVE.match(target):
            return "symbolic link to an absolute path"
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
