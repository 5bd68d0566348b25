"""The file names an anaconda.org owner holds in one subdir, under any of its labels:
the labels from the API (`GET /channels/{owner}`), then each label's repodata from
conda.anaconda.org (`/<owner>/[label/<label>/]<subdir>/repodata.json`), whose keys are
the file names.

A production channel's repodata is large and changes with every upload, so what was
read is kept for `ttl` seconds and then revalidated with its ETag (a 304 costs no
body). Files this process wrote itself are added by `wrote`, so a listing is never
older than this process's own publications, whatever the cache's age.
"""

from __future__ import annotations

import threading
import time
import urllib.parse
from collections.abc import Callable
from typing import Any, NamedTuple

from migrator.channels.anaconda_http import API_URL, AnacondaApi, quote

CONDA_URL = "https://conda.anaconda.org"
DEFAULT_TTL = 300.0
_REMEMBER = 3600.0  # own writes count this long: well past any CDN's lag


def conda_url_for(api_url: str) -> str:
    """Where the repodata of the API at `api_url` is served: conda.anaconda.org for
    api.anaconda.org (and `api.X` -> `conda.X` for another site), `<api_url>/conda`
    for a server that serves both (the stand-in used in tests)."""
    base = api_url.rstrip("/")
    if base == API_URL:
        return CONDA_URL
    parts = urllib.parse.urlsplit(base)
    if parts.hostname and parts.hostname.startswith("api.") and parts.path in ("", "/"):
        return base.replace("//api.", "//conda.", 1)
    return f"{base}/conda"


class _Read(NamedTuple):
    at: float  # monotonic time of the fetch or revalidation
    etag: str | None
    names: frozenset[str]


class Listing:
    def __init__(self, api: AnacondaApi, owner: str, *, conda_url: str | None = None,
                 ttl: float = DEFAULT_TTL, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self.api = api
        self.owner = owner
        self.conda_url = (conda_url or conda_url_for(api.base_url)).rstrip("/")
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._labels: tuple[float, tuple[str, ...]] | None = None
        self._reads: dict[tuple[str, str], _Read] = {}
        self._written: dict[str, dict[str, float]] = {}  # subdir -> file name -> when

    def names(self, subdir: str) -> list[str]:
        found: set[str] = set()
        for label in self._current_labels():
            found |= self._label_names(label, subdir)
        now = self._clock()
        with self._lock:
            written = self._written.get(subdir, {})
            for fn, at in list(written.items()):
                if now - at > _REMEMBER:
                    del written[fn]
            found |= set(written)
        return sorted(found)

    def wrote(self, subdir: str, fn: str) -> None:
        with self._lock:
            self._written.setdefault(subdir, {})[fn] = self._clock()

    def _current_labels(self) -> tuple[str, ...]:
        now = self._clock()
        with self._lock:
            if self._labels is not None and now - self._labels[0] < self.ttl:
                return self._labels[1]
        shown: Any = self.api.call("GET", f"/channels/{quote(self.owner)}") or {}
        labels = tuple(sorted(label for label, info in shown.items()
                              if not isinstance(info, dict) or info.get("num_files", 1)))
        with self._lock:
            self._labels = (now, labels)
        return labels

    def _label_names(self, label: str, subdir: str) -> frozenset[str]:
        now = self._clock()
        with self._lock:
            cached = self._reads.get((label, subdir))
        if cached is not None and now - cached.at < self.ttl:
            return cached.names
        where = "" if label == "main" else f"label/{quote(label)}/"
        url = f"{self.conda_url}/{quote(self.owner)}/{where}{quote(subdir)}/repodata.json"
        headers = {"If-None-Match": cached.etag} if cached and cached.etag else {}
        # public repodata: no token goes to the CDN
        answer = self.api.send("GET", url, what=f"the {subdir} repodata of {self.owner}"
                               f" ({label})", ok=(200, 304, 404), headers=headers)
        with answer:
            if answer.status_code == 304 and cached is not None:
                read = cached._replace(at=now)
            elif answer.status_code == 404:  # a label with nothing in this subdir
                read = _Read(now, None, frozenset())
            else:
                data = answer.json()
                names = frozenset([*(data.get("packages") or {}),
                                   *(data.get("packages.conda") or {})])
                read = _Read(now, answer.headers.get("ETag"), names)
        with self._lock:
            self._reads[(label, subdir)] = read
        return read.names
