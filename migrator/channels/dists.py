"""Names of package files: `<subdir>/<name>-<version>-<build>.<ext>`."""

from __future__ import annotations

import re
from typing import NamedTuple

EXTENSIONS = (".conda", ".tar.bz2")
_SUBDIR = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
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
    if not _SUBDIR.match(subdir):
        raise BadDist(f"{key!r}: {subdir!r} is not a platform subdir such as linux-64")
    stem = strip_extension(fn)
    parts = stem.rsplit("-", 2)
    if len(parts) != 3 or not all(parts):
        raise BadDist(f"{key!r}: a file name must read <name>-<version>-<build>")
    name, version, build = parts
    if not _NAME.match(name) or not _PART.match(version) or not _PART.match(build):
        raise BadDist(f"{key!r}: the name, version or build has characters a package "
                      "name cannot have")
    return Dist(subdir, fn, name, version, build)
