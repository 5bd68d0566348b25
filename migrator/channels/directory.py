"""A channel that is a directory, laid out as anaconda.org serves one: package files
in `<subdir>/`, the `main` label's repodata beside them, other labels under
`label/<label>/<subdir>/`. Files are published with a write to a hidden temporary
name, an fsync and a rename, and are listed in repodata only after that; a removal
unlists before it deletes. So repodata never names a file that is not complete.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from migrator.channels.base import DEFAULT_LABEL, Channel, FileInfo, hash_file
from migrator.channels.dists import Dist
from migrator.channels.local_index import Entry, LocalIndex
from migrator.channels.package import BadPackage, inspect_package
from migrator.core import failpoints

BROKEN_LABEL = "broken"
_PARTIAL = ".partial"


class LocalChannel:
    def __init__(self, root: Path, *, name: str | None = None) -> None:
        self.root = Path(root).resolve()
        self.name = name or self.root.name
        self.index = LocalIndex(self.root)
        if not self.index.view_path("noarch").is_file():
            # solvers expect every channel to have a noarch subdir
            (self.root / "noarch").mkdir(parents=True, exist_ok=True)
            with self.index.lock("noarch"):
                self.index.render("noarch")

    def __repr__(self) -> str:
        return f"LocalChannel({str(self.root)!r})"

    def url(self, label: str = DEFAULT_LABEL) -> str:
        base = self.root if label == DEFAULT_LABEL else self.root / "label" / label
        return base.as_uri()

    def path(self, dist: Dist) -> Path:
        return self.root / dist.subdir / dist.fn

    # -- the Channel protocol --------------------------------------------------------
    def info(self, dist: Dist) -> FileInfo | None:
        """None also for a file without a record: a publish that did not finish, which
        the channel does not serve yet."""
        path = self.path(dist)
        entry = self.index.read(dist.subdir, dist.fn)
        if entry is None or not path.is_file():
            return None
        return FileInfo(dist, hash_file(path), entry.labels)

    def download(self, dist: Dist, dest: Path) -> None:
        shutil.copyfile(self.path(dist), dest)

    def upload(self, path: Path, dist: Dist, *, labels: Iterable[str] = (DEFAULT_LABEL,)
               ) -> None:
        if self.path(dist).exists():
            raise FileExistsError(f"{dist.key} already exists on {self.name}")
        self.receive(path, dist, labels=labels)

    def copy_to(self, target: Channel, dists: Sequence[Dist], *, labels: Iterable[str],
                records: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        records = records or {}
        if isinstance(target, LocalChannel):
            target.receive_many([(self.path(d), d, records.get(d.key)) for d in dists],
                                labels=labels)
            return
        with tempfile.TemporaryDirectory(prefix="copy-") as tmp:
            for dist in dists:
                local = Path(tmp) / dist.fn
                self.download(dist, local)
                target.upload(local, dist, labels=labels)

    def remove(self, dist: Dist) -> None:
        self.index.publish(dist.subdir, self.index.delete(dist.subdir, dist.fn))
        self.path(dist).unlink(missing_ok=True)

    def set_labels(self, dist: Dist, labels: Iterable[str]) -> None:
        entry = self.index.read(dist.subdir, dist.fn)
        if entry is None or not self.path(dist).is_file():
            raise FileNotFoundError(f"{dist.key} is not on {self.name}")
        marker = self.index.write(dist.subdir, dist.fn, entry._replace(labels=frozenset(labels)))
        self.index.publish(dist.subdir, marker)

    # -- local operations ------------------------------------------------------------
    def receive(self, src: Path, dist: Dist, *, labels: Iterable[str],
                record: Mapping[str, Any] | None = None) -> None:
        self.receive_many([(src, dist, record)], labels=labels)

    def receive_many(self, items: Sequence[tuple[Path, Dist, Mapping[str, Any] | None]], *,
                     labels: Iterable[str]) -> None:
        """Publish the bytes of each `src` as its dist, with one repodata update per
        subdir. Idempotent: when the same bytes are already in place (a resumed copy),
        only the index is brought up to date."""
        last: dict[str, Path] = {}
        try:
            for src, dist, record in items:
                last[dist.subdir] = self._receive_one(src, dist, frozenset(labels), record)
        finally:
            # what was received is listed even when a later item fails: a file whose
            # record exists must never be missing from repodata
            for subdir, marker in last.items():
                # a render that consumed the last marker began after every record was written
                self.index.publish(subdir, marker)

    def _receive_one(self, src: Path, dist: Dist, labels: frozenset[str],
                     record: Mapping[str, Any] | None) -> Path:
        dest = self.path(dist)
        expected = str(record["sha256"]) if record and record.get("sha256") else (
            hash_file(src).sha256)
        if dest.exists():
            if hash_file(dest).sha256 != expected:
                raise FileExistsError(f"{dist.key} exists on {self.name} with other bytes")
        else:
            _place(src, dest, sha256=expected)
        failpoints.reached(f"outputs-file-placed@{self.name}")
        old = self.index.read(dist.subdir, dist.fn)
        data = dict(record) if record is not None else record_of(dest, dist)
        if old is not None and "indexed_timestamp" in old.record:
            data["indexed_timestamp"] = old.record["indexed_timestamp"]
        data.setdefault("indexed_timestamp", int(time.time() * 1000))
        marker = self.index.write(dist.subdir, dist.fn, Entry(data, labels))
        failpoints.reached(f"outputs-recorded@{self.name}")
        return marker

    def mark_broken(self, dist: Dist) -> None:
        """Take a file out of `main` (solvers stop seeing it) and label it `broken`;
        the file stays where it is, so its URL keeps working."""
        entry = self.index.read(dist.subdir, dist.fn)
        if entry is None:
            raise FileNotFoundError(f"{dist.key} is not on {self.name}")
        self.set_labels(dist, (entry.labels - {DEFAULT_LABEL}) | {BROKEN_LABEL})

    def set_patch_instructions(self, subdir: str, instructions: dict[str, Any]) -> None:
        self.index.publish(subdir, self.index.set_patches(subdir, instructions))

    def sweep(self) -> list[Path]:
        """Delete temporary files left by processes that died while writing them."""
        swept = []
        for path in self.root.glob(f"*/.*{_PARTIAL}"):
            pid = path.name[: -len(_PARTIAL)].rsplit(".", 2)[-2]
            if not pid.isdigit() or not _alive(int(pid)):
                path.unlink(missing_ok=True)
                swept.append(path)
        return swept

    def subdirs(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir()
                      if p.is_dir() and p.name not in ("label",) and not p.name.startswith("."))

    def packages(self, subdir: str) -> list[str]:
        folder = self.root / subdir
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")
                      and p.name.endswith((".conda", ".tar.bz2")))


def record_of(path: Path, dist: Dist) -> dict[str, Any]:
    try:
        return inspect_package(path, dist).record
    except BadPackage:
        # a channel lists what it was given; judging packages is the service's job
        hashes = hash_file(path)
        return {"name": dist.name, "version": dist.version, "build": dist.build,
                "build_number": 0, "subdir": dist.subdir, "depends": [],
                "size": hashes.size, "sha256": hashes.sha256, "md5": hashes.md5}


def _place(src: Path, dest: Path, *, sha256: str) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f".{dest.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}{_PARTIAL}"
    digest = hashlib.sha256()
    try:
        with open(src, "rb") as reader, open(tmp, "wb") as writer:
            while chunk := reader.read(1 << 20):
                digest.update(chunk)
                writer.write(chunk)
            writer.flush()
            os.fsync(writer.fileno())
        if digest.hexdigest() != sha256:
            raise OSError(f"{src} changed while it was copied")
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fd = os.open(dest.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, under another user
        pass
    return True
