"""Git objects written straight into one pack file and its index (format version 2).

A seeded forge holds tens of thousands of small repositories. Loose objects cost one
file (and disk block) each; a pack holds a repository's objects in two files. Most of a
generated feedstock's objects are the same in every feedstock made from one template, so
`ObjectCache` keeps each object's compressed pack entry and compresses it only once.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import NamedTuple

Files = Mapping[str, tuple[bytes, bool]]  # path -> (content, executable)

_TYPES = {b"commit": 1, b"tree": 2, b"blob": 3}
_DATE = "1735689600 +0000"  # fixed, so seeded forges are reproducible
_IDENTITY = "conda-forge-admin <pelson.pub+conda-forge@gmail.com>"
_CACHE_LIMIT = 4096  # entries; the shared ones come back within a few feedstocks


class PackedObject(NamedTuple):
    sha: bytes  # 20 bytes
    entry: bytes  # the pack entry: type and size header, then the zlib stream
    crc: int  # CRC-32 of `entry`, as the index records it


class ObjectCache:
    """Hashes objects and keeps their compressed entries for reuse across repositories."""

    def __init__(self) -> None:
        self._entries: dict[bytes, PackedObject] = {}

    def add(self, kind: bytes, data: bytes) -> PackedObject:
        sha = hashlib.sha1(b"%s %d\0" % (kind, len(data)) + data).digest()
        found = self._entries.get(sha)
        if found is None:
            entry = _entry_header(_TYPES[kind], len(data)) + zlib.compress(data, 6)
            found = PackedObject(sha, entry, zlib.crc32(entry))
            if len(self._entries) >= _CACHE_LIMIT:
                self._entries.clear()
            self._entries[sha] = found
        return found


def _entry_header(kind: int, size: int) -> bytes:
    out = bytearray()
    byte = (kind << 4) | (size & 0x0F)
    size >>= 4
    while size:
        out.append(byte | 0x80)
        byte = size & 0x7F
        size >>= 7
    out.append(byte)
    return bytes(out)


def tree(cache: ObjectCache, files: Files, into: dict[bytes, PackedObject]) -> bytes:
    """Add the blobs and trees of `files` to `into`; return the root tree's id."""
    entries: dict[str, tuple[bytes, bytes]] = {}
    subtrees: dict[str, dict[str, tuple[bytes, bool]]] = {}
    for path, (data, executable) in files.items():
        head, _, rest = path.partition("/")
        if rest:
            subtrees.setdefault(head, {})[rest] = (data, executable)
        else:
            blob = cache.add(b"blob", data)
            into[blob.sha] = blob
            entries[head] = (b"100755" if executable else b"100644", blob.sha)
    for name, sub in subtrees.items():
        entries[name] = (b"40000", tree(cache, sub, into))

    # git orders tree entries by name, with directories compared as if they ended in "/"
    def key(name: str) -> bytes:
        return (name + "/" if entries[name][0] == b"40000" else name).encode()

    body = b"".join(entries[name][0] + b" " + name.encode() + b"\0" + entries[name][1]
                    for name in sorted(entries, key=key))
    made = cache.add(b"tree", body)
    into[made.sha] = made
    return made.sha


def commit(cache: ObjectCache, files: Files, *, message: str
           ) -> tuple[bytes, list[PackedObject]]:
    """The objects of a one-commit history holding `files`, and the commit's id."""
    objects: dict[bytes, PackedObject] = {}
    root = tree(cache, files, objects)
    text = (f"tree {root.hex()}\nauthor {_IDENTITY} {_DATE}\n"
            f"committer {_IDENTITY} {_DATE}\n\n{message}\n")
    made = cache.add(b"commit", text.encode())
    objects[made.sha] = made
    return made.sha, list(objects.values())


def write_pack(pack_dir: Path, objects: Iterable[PackedObject]) -> Path:
    """Write `pack-<checksum>.pack` and its `.idx` into `pack_dir`; return the pack path."""
    unique = sorted({o.sha: o for o in objects}.values())
    parts = [b"PACK", struct.pack(">II", 2, len(unique))]
    offsets, at = [], 12
    for obj in unique:
        offsets.append(at)
        parts.append(obj.entry)
        at += len(obj.entry)
    body = b"".join(parts)
    checksum = hashlib.sha1(body).digest()
    fanout = [0] * 256
    for obj in unique:
        fanout[obj.sha[0]] += 1
    for i in range(1, 256):
        fanout[i] += fanout[i - 1]
    index = b"".join((
        b"\377tOc", struct.pack(">I", 2), struct.pack(">256I", *fanout),
        *(o.sha for o in unique), struct.pack(f">{len(unique)}I", *(o.crc for o in unique)),
        struct.pack(f">{len(unique)}I", *offsets), checksum,
    ))
    base = pack_dir / f"pack-{checksum.hex()}"
    pack = base.with_suffix(".pack")
    pack.write_bytes(body + checksum)
    # the index last: git only looks at a pack that has one
    base.with_suffix(".idx").write_bytes(index + hashlib.sha1(index).digest())
    return pack
