"""Git objects read and written in-process, in a scratch repository.

A branch fetched into a scratch repository (`init_scratch`) arrives as one pack; the
objects the bot writes are kept in memory and stored as one more pack before a push.
Reading a file is an inflate (and a delta), writing a commit a few hashes, with no git
process per read or per commit. Loose objects are read too (an ordinary repository).
An object's header is read before its body, so a blob that inflates past the caller's
limit is refused without being inflated.
"""

from __future__ import annotations

import hashlib
import os
import re
import struct
import zlib
from pathlib import Path

from migrator.core.gitpacks import BASE_LIMIT, Pack, PackError, PackTooLarge, write_pack

_OID = re.compile(r"^[0-9a-f]{40}$")
_HEADER_MAX = 32  # "commit 18446744073709551615\0" fits


class ObjectError(Exception):
    """An object is missing, malformed or larger than allowed."""


class ObjectTooLarge(ObjectError):
    def __init__(self, oid: str, size: int, limit: int) -> None:
        super().__init__(f"object {oid[:12]} is {size} bytes, over the {limit}-byte limit")
        self.size, self.limit = size, limit


def init_scratch(path: Path) -> None:
    """A bare repository made without running git, whose fetches stay packed."""
    for folder in ("objects/info", "objects/pack", "refs/heads", "refs/tags"):
        (path / folder).mkdir(parents=True, exist_ok=True)
    (path / "HEAD").write_text("ref: refs/heads/main\n")
    (path / "config").write_text(
        "[core]\n\trepositoryformatversion = 0\n\tbare = true\n"
        # a fetch is kept as one pack: two files, not one per object
        "[fetch]\n\tunpackLimit = 1\n[transfer]\n\tunpackLimit = 1\n")


def set_head(repo: Path, oid: str) -> None:
    """Detach HEAD at `oid` (what a push of HEAD sends)."""
    _check_oid(oid)
    tmp = repo / "HEAD.new"
    tmp.write_text(oid + "\n")
    os.replace(tmp, repo / "HEAD")


def fetched_head(repo: Path) -> str:
    """The commit the last fetch of one branch brought."""
    line = (repo / "FETCH_HEAD").read_text(encoding="utf-8", errors="replace").split("\n")[0]
    oid = line.split("\t", 1)[0]
    _check_oid(oid)
    return oid


class ObjectStore:
    """The objects of the repository at `path` (in its packs, or loose), and the objects
    written here, kept in memory until `seal` stores them as one pack."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._packs: dict[str, Pack] = {}
        self._pending: dict[str, tuple[str, bytes]] = {}

    def read(self, oid: str, *, limit: int) -> tuple[str, bytes]:
        """The kind ("blob", "tree", "commit", "tag") and body of object `oid`."""
        _check_oid(oid)
        pending = self._pending.get(oid)
        if pending is not None:
            if len(pending[1]) > limit:
                raise ObjectTooLarge(oid, len(pending[1]), limit)
            return pending
        raw = bytes.fromhex(oid)
        for refresh in (False, True):
            if refresh:
                self._scan()
            for pack in list(self._packs.values()):
                offset = pack.offset(raw)
                if offset is None:
                    continue
                try:
                    return pack.read(offset, limit=limit,
                                     lookup=lambda o: self.read(o, limit=BASE_LIMIT))
                except PackTooLarge as exc:
                    raise ObjectTooLarge(oid, exc.size, limit) from None
                except PackError as exc:
                    raise ObjectError(f"object {oid[:12]}: {exc}") from None
        try:
            return _read_loose(self.path, oid, limit)
        except FileNotFoundError:
            raise ObjectError(f"object {oid[:12]} is not in the repository") from None

    def write(self, kind: str, body: bytes) -> str:
        """Add an object; its id. It reaches the disk with the next `seal`."""
        header = f"{kind} {len(body)}\0".encode("ascii")
        digest = hashlib.sha1(header)
        digest.update(body)
        oid = digest.hexdigest()
        self._pending[oid] = (kind, body)
        return oid

    def seal(self) -> None:
        """Store the objects written since the last seal as one pack (what git reads)."""
        if self._pending:
            write_pack(self.path / "objects" / "pack", self._pending)
            self._pending = {}

    def clear(self) -> None:
        """Delete every pack and forget unsealed objects: the repository is empty again
        for its next user, its folders kept (making them costs more than the files)."""
        for pack in self._packs.values():
            pack.close()
        self._packs.clear()
        self._pending = {}
        for path in (self.path / "objects" / "pack").iterdir():
            path.unlink(missing_ok=True)

    def _scan(self) -> None:
        folder = self.path / "objects" / "pack"
        names = {p.name for p in folder.glob("pack-*.idx")}
        for name in list(self._packs):
            if name not in names:
                self._packs.pop(name).close()
        for name in sorted(names - set(self._packs)):
            try:
                self._packs[name] = Pack(folder / name)
            except (OSError, PackError, struct.error) as exc:
                raise ObjectError(f"cannot read {name}: {exc}") from None


def _read_loose(repo: Path, oid: str, limit: int) -> tuple[str, bytes]:
    path = repo / "objects" / oid[:2] / oid[2:]
    with open(path, "rb") as handle:
        # deflate never grows data by more than this: a body within `limit` compresses
        # to fewer bytes
        raw = handle.read(limit + limit // 100 + 1024)
    inflater = zlib.decompressobj()
    try:
        head = inflater.decompress(raw, _HEADER_MAX)
        header, nul, body = head.partition(b"\0")
        if not nul:
            raise ObjectError(f"object {oid[:12]} has no header")
        kind, _, size_text = header.decode("ascii").partition(" ")
        size = int(size_text)
        if size > limit:
            raise ObjectTooLarge(oid, size, limit)
        body += inflater.decompress(inflater.unconsumed_tail, size - len(body) + 1)
    except (zlib.error, ValueError, UnicodeDecodeError):
        raise ObjectError(f"object {oid[:12]} is corrupt") from None
    if len(body) != size:
        raise ObjectError(f"object {oid[:12]} is not the size its header says")
    return kind, body


def _check_oid(oid: str) -> None:
    if not _OID.match(oid):
        raise ObjectError(f"{oid[:50]!r} is not an object id")
