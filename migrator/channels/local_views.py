"""What one subdir's repodata holds, kept between renders.

Each label's view is two sorted columns (`.tar.bz2` and `.conda` entries, each item
already serialised), so that a render costs the records that changed since the last
one and the writing of the text, not a pass over every record of the subdir. Records
are compared by identity: the record store hands out the same object for a record
until it changes. The views are built again from scratch when the store's base, the
patch instructions or the set of label folders changed.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from migrator.channels import repodata, repodata_patches
from migrator.channels.local_records import Cached

_BUFFER = 1 << 20


class _Column:
    def __init__(self) -> None:
        self.names: list[str] = []
        self.items: list[bytes] = []

    def add(self, fn: str, item: bytes) -> None:
        at = bisect.bisect_left(self.names, fn)
        if at < len(self.names) and self.names[at] == fn:
            self.items[at] = item
        else:
            self.names.insert(at, fn)
            self.items.insert(at, item)

    def drop(self, fn: str) -> None:
        at = bisect.bisect_left(self.names, fn)
        if at < len(self.names) and self.names[at] == fn:
            del self.names[at]
            del self.items[at]


class Views:
    def __init__(self) -> None:
        self.version: Any = None
        self.merged: Mapping[str, Cached] = {}
        self.labels: dict[str, tuple[_Column, _Column]] = {}  # .tar.bz2, .conda
        self.patches = repodata_patches.Patches({}, frozenset(), frozenset())

    def update(self, *, version: Any, merged: Mapping[str, Cached],
               changed: Iterable[str] | None, patches: repodata_patches.Patches,
               labels: Iterable[str]) -> None:
        """Bring the views to `merged`: only the records named in `changed` when the
        `version` (of the base, patches and label folders) is the one last seen."""
        if changed is None or version != self.version:
            self.labels, self.patches, self.merged = {}, patches, {}
            changed = sorted(merged)  # appending in order: each insert lands last
        for label in labels:
            self._column(label, False)
        for fn in changed:
            old, new = self.merged.get(fn), merged.get(fn)
            if old is new:
                continue
            if old is not None:
                for label in old.labels:
                    self._column(label, fn.endswith(".conda")).drop(fn)
            if new is not None and fn not in patches.removed:
                item = new.item
                if repodata_patches.touches(patches, fn):
                    record = repodata_patches.patched(patches, fn, json.loads(new.text))
                    item = repodata.entry(fn, repodata.dumps_record(record))
                for label in new.labels:
                    self._column(label, fn.endswith(".conda")).add(fn, item)
        self.version, self.merged = version, merged

    def write(self, subdir: str, *, default: str, path_of: Callable[[str], Path]) -> None:
        """Write each label's repodata.json (whole or not at all: a new file renamed
        over the old one)."""
        for label, (tar, conda) in sorted(self.labels.items()):
            removed = [fn for fn in sorted(self.patches.removed)
                       if fn in self.merged and label in self.merged[fn].labels]
            path = path_of(label)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb", buffering=_BUFFER) as handle:
                    repodata.write_view(
                        handle, subdir=subdir, tar=tar.items, conda=conda.items,
                        removed=removed,
                        base_url=None if label == default else f"../../../{subdir}/")
                os.replace(tmp, path)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
                raise

    def _column(self, label: str, conda: bool) -> _Column:
        columns = self.labels.get(label)
        if columns is None:
            columns = self.labels[label] = (_Column(), _Column())
        return columns[1] if conda else columns[0]
