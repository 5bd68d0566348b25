"""The package records of a local channel, one subdir at a time.

    .index/<subdir>/base.tsv            many records: fn, labels, record JSON per line
    .index/<subdir>/records/<fn>.json   a newer record for fn ({"record", "labels"})
    .index/<subdir>/records/<fn>.gone   fn was removed

A change writes one small file, so its cost does not grow with the channel; reading
everything costs the base (kept in memory, reloaded only when another process rewrote
it) plus the small files changed since. Once many small files pile up they are folded
into the base. Changes share a lock that folding takes alone, so a change never waits
for a render and a fold never deletes a small file that is being rewritten.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from migrator.channels.local_place import write_atomic
from migrator.channels.repodata import dumps_record, entry
from migrator.core.files import atomic_write_text, read_json

FOLD_AT = 2000  # small record files before they are folded into the base

Stamp = tuple[int, int, int]


class Entry(NamedTuple):
    record: dict[str, Any]
    labels: frozenset[str]


class Cached(NamedTuple):
    labels: frozenset[str]
    text: str  # the record as compact JSON
    item: bytes  # b',"<fn>":<text>', as `repodata.write_view` takes it


def cached(fn: str, labels: frozenset[str], text: str) -> Cached:
    # file names are plain (see `dists`): no JSON escaping needed
    return Cached(labels, text, entry(fn, text))


def stamp_of(stat: os.stat_result) -> Stamp:
    return stat.st_ino, stat.st_mtime_ns, stat.st_size


@contextlib.contextmanager
def _flock(path: str, mode: int) -> Iterator[None]:
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, mode)
        yield
    finally:
        os.close(fd)


def _read_small(path: str) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


class RecordStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._base: dict[str, tuple[Stamp, dict[str, Cached]]] = {}
        self._deltas: dict[str, dict[str, tuple[Stamp, Cached | None]]] = {}
        self._folds: dict[str, dict[str, tuple[str, ...]]] = {}  # the base's, by casefold
        self._mutex = threading.Lock()

    def folder(self, subdir: str) -> Path:
        return self.root / ".index" / subdir

    def _small(self, subdir: str, fn: str, kind: str = ".json") -> str:
        # plain strings: these paths are made several times per published file
        return f"{self.root}/.index/{subdir}/records/{fn}{kind}"

    def _changing(self, subdir: str, *, alone: bool = False) -> Any:
        return _flock(f"{self.root}/.index/{subdir}/fold.lock",
                      fcntl.LOCK_EX if alone else fcntl.LOCK_SH)

    def read(self, subdir: str, fn: str) -> Entry | None:
        try:
            data = json.loads(_read_small(self._small(subdir, fn)))
            return Entry(data["record"], frozenset(data["labels"]))
        except FileNotFoundError:
            pass
        if os.path.exists(self._small(subdir, fn, ".gone")):
            return None
        with self._mutex:
            hit = self._load_base(subdir).get(fn)
        return None if hit is None else Entry(json.loads(hit.text), hit.labels)

    def write(self, subdir: str, fn: str, entry: Entry) -> None:
        data = json.dumps({"record": entry.record, "labels": sorted(entry.labels)},
                          sort_keys=True).encode()
        with self._changing(subdir):
            path = self._small(subdir, fn)
            try:
                write_atomic(path, data)
            except FileNotFoundError:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                write_atomic(path, data)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._small(subdir, fn, ".gone"))

    def delete(self, subdir: str, fn: str) -> None:
        with self._changing(subdir):
            # no fold runs meanwhile, so the base is what it is: a record only in a
            # small file goes with it, one in the base is masked
            with self._mutex:
                in_base = fn in self._load_base(subdir)
            if in_base:
                gone = Path(self._small(subdir, fn, ".gone"))
                gone.parent.mkdir(parents=True, exist_ok=True)
                gone.touch()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._small(subdir, fn))

    def twins(self, subdir: str) -> Callable[[str], list[str]]:
        """A lookup of the recorded names differing from a name only in case, as the
        records stand now: the base's, by a folded index kept with it, and the small
        files' (at most FOLD_AT), listed once for all the lookups."""
        with self._mutex:
            self._load_base(subdir)
            folds = self._folds.get(subdir, {})
        folder = f"{self.root}/.index/{subdir}/records"
        names = os.listdir(folder) if os.path.isdir(folder) else []
        small = {n[: -len(".json")] for n in names if n.endswith(".json")}
        gone = {n[: -len(".gone")] for n in names if n.endswith(".gone")} - small
        small_folds: dict[str, set[str]] = {}
        for name in small:
            small_folds.setdefault(name.casefold(), set()).add(name)

        def lookup(fn: str) -> list[str]:
            key = fn.casefold()
            found = (set(folds.get(key, ())) - gone) | small_folds.get(key, set())
            return sorted(found - {fn})

        return lookup

    def all(self, subdir: str) -> dict[str, Cached]:
        """Every record, folding the small files into the base when there are many."""
        with self._mutex:
            merged = self._merged(subdir)
            if len(self._deltas.get(subdir, {})) >= FOLD_AT:
                with self._changing(subdir, alone=True):
                    merged = self._merged(subdir)
                    self._write_base(subdir, merged)
                    self._drop_small(subdir)
            return merged

    def version(self, subdir: str) -> tuple[Stamp | None, frozenset[str]]:
        """After `all`: the base it read, and the names it read from small files. While
        the base stays, a record outside those names is the same object as before."""
        with self._mutex:
            base = self._base.get(subdir)
            return (base[0] if base else None), frozenset(self._deltas.get(subdir, {}))

    def rebuild(self, subdir: str,
                build: Callable[[dict[str, Entry]], Mapping[str, Entry]]) -> None:
        """Replace every record with `build(current records)`, with changes held off
        meanwhile so that none is lost."""
        with self._mutex, self._changing(subdir, alone=True):
            current = {fn: Entry(json.loads(c.text), c.labels)
                       for fn, c in self._merged(subdir).items()}
            entries = build(current)
            self._write_base(subdir, {fn: cached(fn, e.labels, dumps_record(e.record))
                                      for fn, e in entries.items()})
            self._drop_small(subdir)

    def _merged(self, subdir: str) -> dict[str, Cached]:
        merged = dict(self._load_base(subdir))
        for fn, (_, hit) in self._scan(subdir).items():
            if hit is None:
                merged.pop(fn, None)
            else:
                merged[fn] = hit
        return merged

    def _load_base(self, subdir: str) -> dict[str, Cached]:
        path = f"{self.root}/.index/{subdir}/base.tsv"
        try:
            stamp = stamp_of(os.stat(path))
        except FileNotFoundError:
            return {}
        hit = self._base.get(subdir)
        if hit is None or hit[0] != stamp:
            entries = {}
            with open(path, encoding="utf-8") as handle:
                for line in handle:
                    fn, labels, text = line.rstrip("\n").split("\t", 2)
                    entries[fn] = cached(fn, frozenset(labels.split(",")) - {""}, text)
            hit = (stamp, entries)
            self._set_base(subdir, hit)
        return hit[1]

    def _set_base(self, subdir: str, hit: tuple[Stamp, dict[str, Cached]]) -> None:
        self._base[subdir] = hit
        folds: dict[str, tuple[str, ...]] = {}
        for fn in hit[1]:
            key = fn.casefold()
            folds[key] = (*folds.get(key, ()), fn)
        self._folds[subdir] = folds

    def _write_base(self, subdir: str, entries: Mapping[str, Cached]) -> None:
        lines = [f"{fn}\t{','.join(sorted(c.labels))}\t{c.text}\n"
                 for fn, c in sorted(entries.items())]
        path = self.folder(subdir) / "base.tsv"
        atomic_write_text(path, "".join(lines))
        self._set_base(subdir, (stamp_of(path.stat()), dict(sorted(entries.items()))))

    def _scan(self, subdir: str) -> dict[str, tuple[Stamp, Cached | None]]:
        old = self._deltas.get(subdir, {})
        new: dict[str, tuple[Stamp, Cached | None]] = {}
        folder = self.folder(subdir) / "records"
        items = list(os.scandir(folder)) if folder.is_dir() else []
        gone = {i.name[: -len(".gone")] for i in items if i.name.endswith(".gone")}
        for item in items:
            if not item.name.endswith(".json") or item.name.startswith("."):
                continue
            fn = item.name[: -len(".json")]
            with contextlib.suppress(FileNotFoundError):
                stamp = stamp_of(item.stat())
                hit = old.get(fn)
                if hit is None or hit[0] != stamp or hit[1] is None:
                    data = read_json(Path(item.path))
                    hit = (stamp, cached(fn, frozenset(data["labels"]),
                                         dumps_record(data["record"])))
                new[fn] = hit
        for fn in gone - set(new):
            new[fn] = ((0, 0, 0), None)
        self._deltas[subdir] = new
        return new

    def _drop_small(self, subdir: str) -> None:
        for fn in self._deltas.get(subdir, {}):
            for kind in (".json", ".gone"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self._small(subdir, fn, kind))
        self._deltas[subdir] = {}
