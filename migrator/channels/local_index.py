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

from migrator.channels import repodata
from migrator.channels.base import DEFAULT_LABEL
from migrator.channels.local_records import Entry, RecordStore, Stamp, stamp_of
from migrator.core.files import atomic_write_text, locked, read_json

__all__ = ["Entry", "LocalIndex"]


class LocalIndex:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.records = RecordStore(root)
        self._patches: dict[str, tuple[Stamp, dict[str, Any]]] = {}

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
        repodata.check_instructions(instructions)
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
        instructions = self._instructions(subdir)
        patched: dict[str, dict[str, Any]] = {}
        removed: set[str] = set()
        if instructions:
            records = {fn: json.loads(c.text) for fn, c in merged.items()}
            patched, removed, _ = repodata.patched_records(records, instructions)
        labels = {DEFAULT_LABEL} | self._label_dirs(subdir)
        for hit in merged.values():
            labels |= hit.labels
        ordered = sorted(merged)  # nearly sorted already: the base is, and comes first
        for label in sorted(labels):
            tar: list[str] = []
            conda: list[str] = []
            for fn in ordered:
                hit = merged[fn]
                if label not in hit.labels or fn in removed:
                    continue
                item = (f'"{fn}":{repodata.dumps_record(patched[fn])}' if fn in patched
                        else hit.item)
                (conda if fn.endswith(".conda") else tar).append(item)
            text = repodata.view_text(
                subdir=subdir, tar=tar, conda=conda,
                removed=[fn for fn in removed if label in merged[fn].labels],
                base_url=None if label == DEFAULT_LABEL else f"../../../{subdir}/")
            atomic_write_text(self.view_path(subdir, label), text)
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

    def _instructions(self, subdir: str) -> dict[str, Any]:
        path = self.records.folder(subdir) / "patch_instructions.json"
        try:
            stamp = stamp_of(path.stat())
        except FileNotFoundError:
            return {}
        hit = self._patches.get(subdir)
        if hit is None or hit[0] != stamp:
            hit = (stamp, repodata.check_instructions(read_json(path)))
            self._patches[subdir] = hit
        return hit[1]
