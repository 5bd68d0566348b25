"""The channel interface. Staging, quarantine and production are each one channel.

The local implementation (`directory.LocalChannel`) is a directory; the anaconda.org one
(`anaconda.AnacondaChannel`) maps these calls onto its distribution info, download,
upload, copy, remove and label calls, and lists a subdir from its repodata.
A channel on this machine's disk is also a `local_store.LocalStore`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from migrator.channels.dists import Dist

DEFAULT_LABEL = "main"
_CHUNK = 1 << 20


class Hashes(NamedTuple):
    size: int
    sha256: str
    md5: str

    def get(self, hash_type: str) -> str:
        return self.sha256 if hash_type == "sha256" else self.md5


class FileInfo(NamedTuple):
    dist: Dist
    hashes: Hashes
    labels: frozenset[str]


class Channel(Protocol):
    name: str

    def info(self, dist: Dist) -> FileInfo | None:
        """The file's hashes and labels as the channel knows them; None when absent."""
        ...

    def download(self, dist: Dist, dest: Path) -> None: ...

    def upload(self, path: Path, dist: Dist, *, labels: Iterable[str] = (DEFAULT_LABEL,)
               ) -> None:
        """Add a file (refused if the name exists) and publish it under `labels`."""
        ...

    def copy_to(self, target: Channel, dists: Sequence[Dist], *, labels: Iterable[str],
                records: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        """Server-side copy of `dists` into `target`, published together. `records`
        (by dist key) are the repodata records already computed from these bytes; a
        channel that indexes uploads itself may ignore them."""
        ...

    def remove(self, dist: Dist) -> None:
        """Delete the file; a no-op when it is absent."""
        ...

    def set_labels(self, dist: Dist, labels: Iterable[str]) -> None: ...

    def packages(self, subdir: str) -> list[str]:
        """The file names the channel holds in `subdir`, under any label (sorted; empty
        for a subdir it has nothing in)."""
        ...


def hash_file(path: Path) -> Hashes:
    sha256, md5, size = hashlib.sha256(), hashlib.md5(), 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            sha256.update(chunk)
            md5.update(chunk)
            size += len(chunk)
    return Hashes(size, sha256.hexdigest(), md5.hexdigest())
