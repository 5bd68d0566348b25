"""Names of package files: `<subdir>/<name>-<version>-<build>.<ext>`.

The subdir is one conda knows (its KNOWN_SUBDIRS) that rattler, which indexes the
channels here, knows too: an invented one (`zz-evil`, `label`) would be published in a
directory no installer reads and breaks a full re-index.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import rattler

EXTENSIONS = (".conda", ".tar.bz2")
_CONDA_SUBDIRS = (
    "noarch", "emscripten-wasm32", "wasi-wasm32", "freebsd-64", "linux-32", "linux-64",
    "linux-aarch64", "linux-armv6l", "linux-armv7l", "linux-ppc64", "linux-ppc64le",
    "linux-riscv64", "linux-s390x", "osx-64", "osx-arm64", "win-32", "win-64", "win-arm64",
    "zos-z",
)
# rattler renamed Platform to Subdir (the old name warns)
_RATTLER = getattr(rattler, "Subdir", None) or rattler.Platform
KNOWN_SUBDIRS = frozenset(_CONDA_SUBDIRS) & frozenset(str(p) for p in _RATTLER.all())
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]*$")
_PART = re.compile(r"^[A-Za-z0-9_.+!]+$")


class Dist(NamedTuple):
    subdir: str
    fn: str
    name: str
    version: str
    build: str

    @property
    def key(self) -> str:
        return f"{self.subdir}/{self.fn}"

    @property
    def stem(self) -> str:
        return strip_extension(self.fn)


class BadDist(ValueError):
    """The text does not name a package file; the message says why."""


def strip_extension(fn: str) -> str:
    for ext in EXTENSIONS:
        if fn.endswith(ext):
            return fn[: -len(ext)]
    raise BadDist(f"{fn!r} is not a conda package file (.conda or .tar.bz2)")


def parse_dist(key: str) -> Dist:
    """`linux-64/numpy-2.0.0-py312h1234_0.conda` -> its parts; refuses anything that is
    not exactly one subdir and one file name (no extra slashes, dots or spaces)."""
    if not isinstance(key, str) or key.count("/") != 1:
        raise BadDist(f"{key!r} must be '<subdir>/<file name>', e.g. "
                      "'noarch/foo-1.0-pyhd8ed1ab_0.conda'")
    subdir, fn = key.split("/")
    if subdir not in KNOWN_SUBDIRS:
        raise BadDist(f"{key!r}: {subdir!r} is not a platform subdir conda knows, "
                      "such as linux-64 or noarch")
    stem = strip_extension(fn)
    parts = stem.rsplit("-", 2)
    if len(parts) != 3 or not all(parts):
        raise BadDist(f"{key!r}: a file name must read <name>-<version>-<build>")
    name, version, build = parts
    if not _NAME.match(name) or not _PART.match(version) or not _PART.match(build):
        raise BadDist(f"{key!r}: the name, version or build has characters a package "
                      "name cannot have")
    return Dist(subdir, fn, name, version, build)
