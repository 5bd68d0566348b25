"""A channel that is a directory, laid out as anaconda.org serves one: package files
in `<subdir>/`, the `main` label's repodata beside them, other labels under
`label/<label>/<subdir>/`. A file is placed whole (`local_place`) before its record is
written, and listed in repodata only after that; a removal unlists before it deletes.
So repodata never names a file that is not complete.

A channel made with `repodata=False` is a working area (staging, quarantine): it keeps
its records, which `info` and `packages` read, but writes no repodata.

The channel trusts its own records: a record's size and hashes are those of the bytes
placed with it (files are never written in place), so `info` reads no bytes, and a
copy between two local channels links the file and takes its record along.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from migrator.channels import local_place
from migrator.channels.base import DEFAULT_LABEL, Channel, FileInfo, Hashes, hash_file
from migrator.channels.dists import Dist
from migrator.channels.local_index import Entry, LocalIndex
from migrator.channels.local_store import Identity, Incoming, identity_of
from migrator.channels.package import BadPackage, inspect_package
from migrator.core import failpoints

BROKEN_LABEL = "broken"


class LocalChannel:
    def __init__(self, root: Path, *, name: str | None = None, repodata: bool = True) -> None:
        self.root = Path(root).resolve()
        self.name = name or self.root.name
        self.repodata = repodata
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
        if entry is None:
            return None
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return None
        return FileInfo(dist, recorded_hashes(entry.record, size) or hash_file(path),
                        entry.labels)

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
            target.receive_many([self.outgoing(d, records.get(d.key)) for d in dists],
                                labels=labels)
            return
        with tempfile.TemporaryDirectory(prefix="copy-") as tmp:
            for dist in dists:
                local = Path(tmp) / dist.fn
                self.download(dist, local)
                target.upload(local, dist, labels=labels)

    def remove(self, dist: Dist) -> None:
        path = self.path(dist)
        if not self.repodata:
            self.index.records.delete(dist.subdir, dist.fn)  # a no-op when absent
        elif self.index.read(dist.subdir, dist.fn) is not None or path.exists():
            self._publish(dist.subdir, self._change(dist.subdir, dist.fn, None))
        path.unlink(missing_ok=True)

    def set_labels(self, dist: Dist, labels: Iterable[str]) -> None:
        entry = self.index.read(dist.subdir, dist.fn)
        if entry is None or not self.path(dist).is_file():
            raise FileNotFoundError(f"{dist.key} is not on {self.name}")
        self._publish(dist.subdir, self._change(dist.subdir, dist.fn,
                                                entry._replace(labels=frozenset(labels))))

    def packages(self, subdir: str) -> list[str]:
        folder = self.root / subdir
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")
                      and p.name.endswith((".conda", ".tar.bz2")))

    # -- the LocalStore protocol -----------------------------------------------------
    def hold(self, dist: Dist, dest: Path) -> Identity:
        local_place.link_or_copy(self.path(dist), dest)
        return identity_of(dest)

    def receive(self, src: Path, dist: Dist, *, labels: Iterable[str],
                record: Mapping[str, Any] | None = None) -> None:
        self.receive_many([Incoming(src, dist, record)], labels=labels)

    def receive_many(self, items: Sequence[Incoming], *, labels: Iterable[str]) -> None:
        """Publish each item, then sync each directory written to once and update its
        subdir's repodata once. Idempotent: when the same bytes are already in place
        (a resumed copy), only the index is brought up to date."""
        written: set[str] = set()
        try:
            self.place_many(items, labels=labels, placed=written)
        finally:
            # what was received is listed even when a later item fails: a file whose
            # record exists must never be missing from repodata
            self.publish_subdirs(written)

    def keep(self, item: Incoming) -> None:
        """Hold the item's bytes at its name, unlisted (no record): a working copy, such
        as quarantine's, that is published elsewhere. FileExistsError when other bytes
        are there."""
        dest = self.path(item.dist)
        if dest.exists():
            if item.identity is None or identity_of(dest) != item.identity:
                raise FileExistsError(f"{item.dist.key} exists on {self.name}")
            return
        record = item.record or {}
        local_place.place(item.src, dest, identity=item.identity,
                          sha256=str(record["sha256"]) if record.get("sha256") else None)
        failpoints.reached(f"outputs-file-placed@{self.name}")

    def place_many(self, items: Sequence[Incoming], *, labels: Iterable[str],
                   placed: set[str] | None = None) -> None:
        """Put each item and its record in place, unlisted until `publish_subdirs` (which
        must follow, even when this fails: `placed` collects the subdirs to publish)."""
        for item in items:
            self._receive_one(item, frozenset(labels))
            if placed is not None:
                placed.add(item.dist.subdir)

    def publish_subdirs(self, subdirs: Iterable[str]) -> None:
        """Make what was placed in `subdirs` durable (one sync of each directory) and
        listed (one repodata update each)."""
        for subdir in sorted(set(subdirs)):
            if self.repodata:
                local_place.sync_dir(self.root / subdir)
                self._publish(subdir, self.index.mark(subdir))

    def _receive_one(self, item: Incoming, labels: frozenset[str]) -> None:
        dist, record = item.dist, item.record
        dest = self.path(dist)
        expected = str(record["sha256"]) if record and record.get("sha256") else None
        existed = dest.exists()
        if existed:
            if not _holds(dest, item.identity, expected or hash_file(item.src).sha256):
                raise FileExistsError(f"{dist.key} exists on {self.name} with other bytes")
        else:
            local_place.place(item.src, dest, identity=item.identity if record else None,
                              sha256=expected)
        failpoints.reached(f"outputs-file-placed@{self.name}")
        # a record is written only once its file is in place: a new file has none
        old = self.index.read(dist.subdir, dist.fn) if existed else None
        data = dict(record) if record is not None else record_of(dest, dist)
        if old is not None and "indexed_timestamp" in old.record:
            data["indexed_timestamp"] = old.record["indexed_timestamp"]
        data.setdefault("indexed_timestamp", int(time.time() * 1000))
        self.index.records.write(dist.subdir, dist.fn, Entry(data, labels))
        failpoints.reached(f"outputs-recorded@{self.name}")

    def outgoing(self, dist: Dist, record: Mapping[str, Any] | None = None) -> Incoming:
        """One of this channel's files, vouched for by its record (see the module's
        docstring), to be linked into another local channel."""
        path = self.path(dist)
        if record is None:
            entry = self.index.read(dist.subdir, dist.fn)
            record = entry.record if entry is not None else None
        return Incoming(path, dist, record, identity_of(path) if record else None)

    # -- changes ---------------------------------------------------------------------
    def _change(self, subdir: str, fn: str, entry: Entry | None) -> Path | None:
        """Write (or with None, delete) a record; the marker to publish with, or None for
        a working area, which renders nothing."""
        if not self.repodata:
            if entry is None:
                self.index.records.delete(subdir, fn)
            else:
                self.index.records.write(subdir, fn, entry)
            return None
        if entry is None:
            return self.index.delete(subdir, fn)
        return self.index.write(subdir, fn, entry)

    def _publish(self, subdir: str, marker: Path | None) -> None:
        if marker is not None:
            # a render that consumed the marker began after the record was written
            self.index.publish(subdir, marker)

    # -- maintenance -----------------------------------------------------------------
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
        swept = local_place.dead_partials(self.root)
        for path in swept:
            path.unlink(missing_ok=True)
        return swept

    def repair(self) -> None:
        """After a crash: temporary files of dead processes go, and repodata is rendered
        again (a change may be recorded but unrendered)."""
        self.sweep()
        if self.repodata:
            self.index.publish_all()

    def subdirs(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir()
                      if p.is_dir() and p.name not in ("label",) and not p.name.startswith("."))

    def twins(self, subdir: str) -> Callable[[str], list[str]]:
        """A lookup, as the channel stands now, of the recorded file names of `subdir`
        that differ from a file name only in case."""
        return self.index.records.twins(subdir)


def recorded_hashes(record: Mapping[str, Any], size: int) -> Hashes | None:
    sha256, md5 = record.get("sha256"), record.get("md5")
    if record.get("size") != size or not isinstance(sha256, str) or not isinstance(md5, str):
        return None
    return Hashes(size, sha256, md5)


def record_of(path: Path, dist: Dist) -> dict[str, Any]:
    try:
        return inspect_package(path, dist).record
    except BadPackage:
        # a channel lists what it was given; judging packages is the service's job
        hashes = hash_file(path)
        return {"name": dist.name, "version": dist.version, "build": dist.build,
                "build_number": 0, "subdir": dist.subdir, "depends": [],
                "size": hashes.size, "sha256": hashes.sha256, "md5": hashes.md5}


def _holds(path: Path, identity: Identity | None, sha256: str) -> bool:
    """Whether `path` already holds the bytes: the same inode, or the same sha256."""
    if identity is not None and identity_of(path) == identity:
        return True
    return hash_file(path).sha256 == sha256
