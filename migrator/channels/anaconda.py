"""A channel that is one anaconda.org owner (`cf-staging`, `cf-post-staging`,
`conda-forge`), through its HTTP API with that owner's token.

A copy between owners is anaconda.org's server-side copy, made with the token of the
owner copied to (as conda-forge-webservices does). A copy answered 409 means the name
is taken there: the same bytes (same sha256) count as copied, other bytes are a
`ChannelConflict` and nothing is overwritten. Labels are set by adding the new ones
before removing the old ones, so a file is never left without the labels it keeps.
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import requests

from migrator.channels.anaconda_http import AnacondaApi, ApiError, Conflict, NotFound, quote
from migrator.channels.anaconda_listing import DEFAULT_TTL, Listing
from migrator.channels.anaconda_upload import upload_file
from migrator.channels.base import DEFAULT_LABEL, Channel, FileInfo, Hashes
from migrator.channels.dists import BadDist, Dist, parse_dist

log = logging.getLogger(__name__)
_CHUNK = 1 << 20
_CONFLICT_TRIES = 3


class ChannelConflict(FileExistsError):
    """The name is taken on the target channel by other bytes."""


class StoredFile(NamedTuple):
    dist: Dist
    uploaded_at: float  # unix seconds
    labels: frozenset[str]


class AnacondaChannel:
    def __init__(self, api: AnacondaApi, owner: str, *, name: str | None = None,
                 conda_url: str | None = None, listing_ttl: float = DEFAULT_TTL) -> None:
        self.api = api
        self.owner = owner
        self.name = name or owner
        self.listing = Listing(api, owner, conda_url=conda_url, ttl=listing_ttl)

    def __repr__(self) -> str:
        return f"AnacondaChannel({self.api.base_url!r}, {self.owner!r})"

    def _path(self, kind: str, dist: Dist, owner: str | None = None) -> str:
        return (f"/{kind}/{quote(owner or self.owner)}/{quote(dist.name)}/"
                f"{quote(dist.version)}/{quote(dist.key)}")

    # -- the Channel protocol --------------------------------------------------------
    def info(self, dist: Dist) -> FileInfo | None:
        try:
            data = self.api.call("GET", self._path("dist", dist))
        except NotFound:
            return None
        hashes = Hashes(int(data["size"]), str(data["sha256"]), str(data["md5"]))
        return FileInfo(dist, hashes, frozenset(data.get("labels") or ()))

    def download(self, dist: Dist, dest: Path) -> None:
        """Through the API's download call, which redirects to storage; the storage URL
        is signed and gets no token."""
        what = f"download of {dist.key} from {self.name}"
        for attempt in range(1, self.api.policy.attempts + 1):
            try:
                self._download_once(dist, Path(dest), what)
                return
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError,
                    requests.Timeout) as exc:
                if attempt == self.api.policy.attempts:
                    raise ApiError(f"{what}: {type(exc).__name__} after {attempt} tries"
                                   ) from None
                log.warning("%s broke off (%s), starting again", what, type(exc).__name__)

    def _download_once(self, dist: Dist, dest: Path, what: str) -> None:
        answer = self.api.send("GET", self.api.base_url + self._path("download", dist),
                               what=what, ok=(200, 302), headers=self.api.authorization(),
                               stream=True)
        if answer.status_code == 302:
            location = requests.compat.urljoin(self.api.base_url + "/",
                                               answer.headers["Location"])
            answer.close()
            answer = self.api.send("GET", location, what=what, stream=True)
        with answer, open(dest, "wb") as handle:
            for chunk in answer.iter_content(_CHUNK):
                handle.write(chunk)

    def upload(self, path: Path, dist: Dist, *, labels: Iterable[str] = (DEFAULT_LABEL,)
               ) -> None:
        if self.info(dist) is not None:
            raise FileExistsError(f"{dist.key} already exists on {self.name}")
        wanted = sorted(set(labels))
        upload_file(self.api, self.owner, path, dist, labels=wanted or [DEFAULT_LABEL])
        self.listing.wrote(dist.subdir, dist.fn)
        if not wanted:
            self.set_labels(dist, ())

    def copy_to(self, target: Channel, dists: Sequence[Dist], *, labels: Iterable[str],
                records: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        """`records` are only read for the sha256 a 409 is checked against."""
        wanted = sorted(set(labels))
        if not wanted:
            raise ValueError("anaconda.org copies under a label; give at least one")
        if not isinstance(target, AnacondaChannel) or target.api.base_url != self.api.base_url:
            self._transfer(target, dists, wanted)
            return
        for dist in dists:
            record = (records or {}).get(dist.key) or {}
            target.receive_copy(self, dist, labels=wanted, sha256=record.get("sha256"))

    def remove(self, dist: Dist) -> None:
        try:
            self.api.call("DELETE", self._path("dist", dist))
        except NotFound:
            pass  # absent already, or removed by a try whose answer was lost

    def set_labels(self, dist: Dist, labels: Iterable[str]) -> None:
        found = self.info(dist)
        if found is None:
            raise FileNotFoundError(f"{dist.key} is not on {self.name}")
        wanted = frozenset(labels)
        for label in sorted(wanted - found.labels):
            self._label("POST", label, dist)
        for label in sorted(found.labels - wanted):
            self._label("DELETE", label, dist)

    def packages(self, subdir: str) -> list[str]:
        return self.listing.names(subdir)

    # -- anaconda.org operations -----------------------------------------------------
    def receive_copy(self, source: AnacondaChannel, dist: Dist, *, labels: Sequence[str],
                     sha256: str | None = None) -> None:
        """Copy `dist` from `source` into this owner under `labels` (this owner's token)."""
        first = labels[0]
        held = None
        try:
            self._copy_from(source, dist, to_label=first)
        except Conflict:
            held = self._settle(source, dist, first, sha256)
        have = held.labels if held is not None else frozenset({first})
        self.listing.wrote(dist.subdir, dist.fn)
        for label in labels:
            if label not in have:
                self._label("POST", label, dist)

    def _copy_from(self, source: AnacondaChannel, dist: Dist, *, to_label: str) -> None:
        """anaconda.org copies the file under one of its source labels; the label asked
        for is tried first, then one the file carries."""
        path = source._path("copy/package", dist)
        body = {"to_owner": self.owner, "from_channel": to_label, "to_channel": to_label}
        if self.api.call("POST", path, json=body):
            return
        found = source.info(dist)
        if found is None:
            raise FileNotFoundError(f"{dist.key} is not on {source.name}")
        if not found.labels:
            raise ApiError(f"{dist.key} has no label on {source.name}, so it cannot be copied")
        body["from_channel"] = sorted(found.labels)[0]
        if not self.api.call("POST", path, json=body):
            raise ApiError(f"copying {dist.key} from {source.name} to {self.name} "
                           "copied nothing")

    def _settle(self, source: AnacondaChannel, dist: Dist, label: str,
                sha256: str | None) -> FileInfo | None:
        """After a 409: the file held here when it has the source's bytes (None when a
        further try copied it after all); ChannelConflict when it has other bytes."""
        for _ in range(_CONFLICT_TRIES):
            held = self.info(dist)
            if held is None:  # taken, then gone (a race, or a 409 not about this file)
                try:
                    self._copy_from(source, dist, to_label=label)
                    return None
                except Conflict:
                    continue
            if sha256 is None:
                origin = source.info(dist)
                if origin is None:
                    raise ChannelConflict(f"{dist.key} is on {self.name} already and no "
                                          f"longer on {source.name} to compare with")
                sha256 = origin.hashes.sha256
            if held.hashes.sha256 != sha256:
                raise ChannelConflict(
                    f"{dist.key} is on {self.name} with other bytes (sha256 "
                    f"{held.hashes.sha256[:12]}..., copying {sha256[:12]}...)")
            return held
        raise ApiError(f"copying {dist.key} to {self.name}: 409 for a file that is not there")

    def _label(self, method: str, label: str, dist: Dist) -> None:
        self.api.call(method, f"/channels/{quote(self.owner)}/{quote(label)}", ok=(201,),
                      json={"package": dist.name, "version": dist.version,
                            "basename": dist.key})

    def _transfer(self, target: Channel, dists: Sequence[Dist], labels: list[str]) -> None:
        with tempfile.TemporaryDirectory(prefix="copy-") as tmp:
            for dist in dists:
                local = Path(tmp) / dist.fn
                self.download(dist, local)
                target.upload(local, dist, labels=labels)
                local.unlink()

    def stored(self) -> Iterator[StoredFile]:
        """Every labelled file with its upload time, read per label as conda-forge's
        staging cleanup reads them."""
        seen: set[str] = set()
        for label in self.api.call("GET", f"/channels/{quote(self.owner)}") or ():
            shown = self.api.call("GET", f"/channels/{quote(self.owner)}/{quote(label)}")
            for item in shown.get("files", ()):
                basename = str(item.get("basename"))
                if basename in seen:
                    continue
                seen.add(basename)
                try:
                    dist = parse_dist(basename)
                except BadDist:
                    log.warning("%s lists %r, which is not a package file name", self.name,
                                basename)
                    continue
                yield StoredFile(dist, parse_time(str(item["upload_time"])),
                                 frozenset(item.get("labels") or ()))


def parse_time(text: str) -> float:
    """anaconda.org's upload times (`2020-04-13 15:54:07.123000+00:00`, or ISO with Z)."""
    moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.timestamp()
