"""Reading objects out of git pack files (version 2 index), in-process.

A fetch keeps what it received as one pack and its index, two files, rather than a file
per object: far less for the file system to create and delete per feedstock. Deltas
(offset and reference) are resolved here; every size is checked against the caller's
limit before anything that large is inflated.
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import os
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

Lookup = Callable[[str], tuple[str, bytes]]  # an object outside the pack, by id

_IDX_MAGIC = b"\xfftOc"
_KINDS = {1: "commit", 2: "tree", 3: "blob", 4: "tag"}
_OFS_DELTA, _REF_DELTA = 6, 7
BASE_LIMIT = 64 << 20  # a delta's base is inflated whole: no feedstock file is this large
MAX_CHAIN = 100  # longer than git makes (pack.depth defaults to 50)


class PackError(Exception):
    """The pack or its index is malformed."""


class PackTooLarge(PackError):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"object is {size} bytes, over the {limit}-byte limit")
        self.size = size


_NUMBERS = {kind: number for number, kind in _KINDS.items()}


class Pack:
    """One pack file and its index; `offset` and `read` by object id."""

    def __init__(self, idx: Path) -> None:
        self.path = idx.with_suffix(".pack")
        self._handle: BinaryIO | None = None
        data = idx.read_bytes()
        if data[:8] != _IDX_MAGIC + b"\0\0\0\2":
            raise PackError(f"{idx.name} is not a version 2 pack index")
        count = struct.unpack(">I", data[8 + 255 * 4:8 + 256 * 4])[0]
        names = 8 + 256 * 4
        offsets = names + count * 24  # after the names and the crc32s
        large = offsets + count * 4
        self._oids = [data[names + i * 20:names + i * 20 + 20] for i in range(count)]
        small = struct.unpack(f">{count}I", data[offsets:large]) if count else ()
        self._offsets = [o if not o & 0x80000000 else
                         struct.unpack(">Q", data[large + (o & 0x7FFFFFFF) * 8:
                                                  large + (o & 0x7FFFFFFF) * 8 + 8])[0]
                         for o in small]

    def offset(self, oid: bytes) -> int | None:
        at = bisect.bisect_left(self._oids, oid)
        if at < len(self._oids) and self._oids[at] == oid:
            return self._offsets[at]
        return None

    def read(self, offset: int, *, limit: int,
             lookup: Lookup | None = None) -> tuple[str, bytes]:
        if self._handle is None:
            self._handle = open(self.path, "rb")  # noqa: SIM115 - kept until close()
        try:
            return self._read(self._handle, offset, limit, lookup, MAX_CHAIN)
        except (IndexError, zlib.error, struct.error):
            raise PackError(f"{self.path.name} is corrupt at offset {offset}") from None

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def _read(self, handle: BinaryIO, offset: int, limit: int, lookup: Lookup | None,
              depth: int) -> tuple[str, bytes]:
        if depth == 0:
            raise PackError("delta chain too long")
        handle.seek(offset)
        kind, size, start = _entry_header(handle, offset)
        if kind in _KINDS:
            if size > limit:
                raise PackTooLarge(size, limit)
            return _KINDS[kind], _inflate(handle, start, size)
        if kind == _OFS_DELTA:
            handle.seek(start)
            back, start = _offset_varint(handle, start)
            base_kind, base = self._read(handle, offset - back, BASE_LIMIT, lookup, depth - 1)
        elif kind == _REF_DELTA:
            handle.seek(start)
            ref = handle.read(20)
            start += 20
            found = self.offset(ref)
            if found is not None:
                base_kind, base = self._read(handle, found, BASE_LIMIT, lookup, depth - 1)
            elif lookup is not None:
                base_kind, base = lookup(ref.hex())
            else:
                raise PackError(f"delta base {ref.hex()[:12]} is missing")
        else:
            raise PackError(f"unknown pack entry type {kind}")
        delta = _inflate(handle, start, size)
        return base_kind, apply_delta(base, delta, limit)


def _entry_header(handle: BinaryIO, offset: int) -> tuple[int, int, int]:
    first = handle.read(1)
    if not first:
        raise PackError(f"no pack entry at offset {offset}")
    byte = first[0]
    kind, size, shift, used = (byte >> 4) & 7, byte & 15, 4, 1
    while byte & 0x80:
        byte = handle.read(1)[0]
        size |= (byte & 0x7F) << shift
        shift += 7
        used += 1
    return kind, size, offset + used


def _offset_varint(handle: BinaryIO, at: int) -> tuple[int, int]:
    byte = handle.read(1)[0]
    value, used = byte & 0x7F, 1
    while byte & 0x80:
        byte = handle.read(1)[0]
        value = ((value + 1) << 7) | (byte & 0x7F)
        used += 1
    return value, at + used


def _inflate(handle: BinaryIO, start: int, size: int) -> bytes:
    handle.seek(start)
    inflater = zlib.decompressobj()
    out = b""
    while len(out) < size:
        chunk = handle.read(65536)
        if not chunk:
            break
        out += inflater.decompress(chunk, size + 1 - len(out))
        if inflater.eof:
            break
    if len(out) != size:
        raise PackError("pack entry is not the size its header says")
    return out


def apply_delta(base: bytes, delta: bytes, limit: int) -> bytes:
    at, base_size = _size_varint(delta, 0)
    at, size = _size_varint(delta, at)
    if base_size != len(base):
        raise PackError("delta does not fit its base")
    if size > limit:
        raise PackTooLarge(size, limit)
    out = bytearray()
    while at < len(delta):
        op = delta[at]
        at += 1
        if op & 0x80:
            offset = length = 0
            for bit in range(4):
                if op & (1 << bit):
                    offset |= delta[at] << (8 * bit)
                    at += 1
            for bit in range(3):
                if op & (0x10 << bit):
                    length |= delta[at] << (8 * bit)
                    at += 1
            length = length or 0x10000
            if offset + length > len(base):
                raise PackError("delta copies past its base")
            out += base[offset:offset + length]
        elif op:
            out += delta[at:at + op]
            at += op
        else:
            raise PackError("delta holds a reserved instruction")
        if len(out) > size:
            break
    if len(out) != size:
        raise PackError("delta result is not the size it says")
    return bytes(out)


def _size_varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return at, value


def write_pack(folder: Path, objects: dict[str, tuple[str, bytes]]) -> None:
    """Store `objects` ({oid: (kind, body)}) as one pack and its version 2 index in
    `folder`; the index is written last, so no reader finds a partial pack."""
    body = bytearray(b"PACK" + struct.pack(">II", 2, len(objects)))
    entries = []
    for oid, (kind, data) in objects.items():
        size, header = len(data), bytearray()
        byte = (_NUMBERS[kind] << 4) | (size & 15)
        size >>= 4
        while size:
            header.append(byte | 0x80)
            byte, size = size & 0x7F, size >> 7
        header.append(byte)
        entry = bytes(header) + zlib.compress(data, 1)
        entries.append((bytes.fromhex(oid), zlib.crc32(entry), len(body)))
        body += entry
    checksum = hashlib.sha1(body).digest()
    body += checksum
    entries.sort()
    fanout = [0] * 256
    for name, _, _ in entries:
        fanout[name[0]] += 1
    for at in range(1, 256):
        fanout[at] += fanout[at - 1]
    idx = bytearray(_IDX_MAGIC + struct.pack(">I", 2) + struct.pack(">256I", *fanout))
    idx += b"".join(name for name, _, _ in entries)
    idx += b"".join(struct.pack(">I", crc) for _, crc, _ in entries)
    idx += b"".join(struct.pack(">I", offset) for _, _, offset in entries)
    idx += checksum
    idx += hashlib.sha1(idx).digest()
    stem = folder / f"pack-{checksum.hex()}"
    _write_new(stem.with_suffix(".pack"), bytes(body))
    _write_new(stem.with_suffix(".idx"), bytes(idx))


def _write_new(path: Path, data: bytes) -> None:
    tmp = path.with_name(f"tmp_{path.name}")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o444)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
