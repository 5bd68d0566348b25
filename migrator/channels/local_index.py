"""The repodata of a local channel, rendered from its records (`local_records`).

    .index/<subdir>/patch_instructions.json  applied to every label's view
    .index/<subdir>/pending/<marker>         changes waiting for a render
    <subdir>/repodata.json                   the `main` label
    label/<label>/<subdir>/repodata.json     other labels (files stay in <subdir>/)

Every change writes its record, then a marker, then asks for a render. Renders are
serialised by a lock and grouped: a render consumes the markers present when it starts
(whose records are already written), so a change whose marker is gone by the time it
holds the lock needs no render of its own, and concurrent publishes cost few renders.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from migrator.channels import repodata_patches
from migrator.channels.base import DEFAULT_LABEL
from migrator.channels.local_records import Entry, RecordStore, Stamp, stamp_of
from migrator.channels.local_views import Views
from migrator.core.files import atomic_write_text, locked, read_json

__all__ = ["Entry", "LocalIndex"]
_NO_PATCHES = repodata_patches.Patches({}, frozenset(), frozenset())


class LocalIndex:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.records = RecordStore(root)
        self._patches: dict[str, tuple[Stamp, repodata_patches.Patches]] = {}
        self._views: dict[str, tuple[Views, frozenset[str]]] = {}

    def subdirs(self) -> list[str]:
        base = self.root / ".index"
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))

    def lock(self, subdir: str) -> contextlib.AbstractContextManager[int]:
        """Held for the length of a render, and by whole-index changes."""
        return locked(self.records.folder(subdir) / "lock")

    # -- changes: each returns the marker to publish with --------------------------
    def read(self, subdir: str, fn: str) -> Entry | None:
        return self.records.read(subdir, fn)

    def write(self, subdir: str, fn: str, entry: Entry) -> Path:
        self.records.write(subdir, fn, entry)
        return self._mark(subdir)

    def delete(self, subdir: str, fn: str) -> Path:
        self.records.delete(subdir, fn)
        return self._mark(subdir)

    def set_patches(self, subdir: str, instructions: dict[str, Any]) -> Path:
        repodata_patches.check_instructions(instructions)
        atomic_write_text(self.records.folder(subdir) / "patch_instructions.json",
                          json.dumps(instructions, indent=1, sort_keys=True) + "\n")
        return self._mark(subdir)

    def entries(self, subdir: str) -> dict[str, Entry]:
        return {fn: Entry(json.loads(c.text), c.labels)
                for fn, c in self.records.all(subdir).items()}

    def rebuild(self, subdir: str,
                build: Callable[[dict[str, Entry]], Mapping[str, Entry]]) -> None:
        """Replace the records with `build(current records)` and render. Call with the
        lock held."""
        self.records.rebuild(subdir, build)
        self.render(subdir)

    def mark(self, subdir: str) -> Path:
        """A change was recorded (`records.write`): the marker to publish it with."""
        return self._mark(subdir)

    def _mark(self, subdir: str) -> Path:
        pending = self.records.folder(subdir) / "pending"
        pending.mkdir(parents=True, exist_ok=True)
        marker = pending / uuid.uuid4().hex
        marker.touch()
        return marker

    # -- rendering -----------------------------------------------------------------
    def publish(self, subdir: str, marker: Path | None = None) -> None:
        """Render unless a render that began after `marker` was made already did."""
        marker = marker or self._mark(subdir)
        with self.lock(subdir):
            if marker.exists():
                self.render(subdir)

    def publish_all(self) -> None:
        """Render every subdir: after a crash a change may be recorded but unrendered."""
        for subdir in self.subdirs():
            with self.lock(subdir):
                self.render(subdir)

    def render(self, subdir: str) -> None:
        """Write every label's repodata for `subdir`. Call with `lock(subdir)` held."""
        pending = self.records.folder(subdir) / "pending"
        markers = list(pending.iterdir()) if pending.is_dir() else []
        merged = self.records.all(subdir)
        base, small = self.records.version(subdir)
        stamp, patches = self._instructions(subdir)
        labels = {DEFAULT_LABEL} | self._label_dirs(subdir)
        views, seen = self._views.get(subdir) or (Views(), frozenset())
        views.update(version=(base, stamp, frozenset(labels)), merged=merged,
                     changed=seen | small, labels=labels, patches=patches)
        self._views[subdir] = (views, small)
        views.write(subdir, default=DEFAULT_LABEL,
                    path_of=lambda label: self.view_path(subdir, label))
        for marker in markers:
            marker.unlink(missing_ok=True)

    def view_path(self, subdir: str, label: str = DEFAULT_LABEL) -> Path:
        if label == DEFAULT_LABEL:
            return self.root / subdir / "repodata.json"
        return self.root / "label" / label / subdir / "repodata.json"

    def _label_dirs(self, subdir: str) -> set[str]:
        base = self.root / "label"
        if not base.is_dir():
            return set()
        return {p.name for p in base.iterdir() if (p / subdir / "repodata.json").is_file()}

    def _instructions(self, subdir: str) -> tuple[Stamp | None, repodata_patches.Patches]:
        path = self.records.folder(subdir) / "patch_instructions.json"
        try:
            stamp = stamp_of(path.stat())
        except FileNotFoundError:
            return None, _NO_PATCHES
        hit = self._patches.get(subdir)
        if hit is None or hit[0] != stamp:
            instructions = repodata_patches.check_instructions(read_json(path))
            patches = repodata_patches.compile_patches(instructions)
            hit = (stamp, patches)
            self._patches[subdir] = hit
        return hit
