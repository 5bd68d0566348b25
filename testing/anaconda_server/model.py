"""What the stand-in anaconda.org knows: owners, their packages, releases and files,
each file's labels, the tokens it handed out, and uploads staged but not yet committed.

File bytes live once in a content store keyed by sha256, so a copy to another owner
shares the bytes (as anaconda.org's server-side copy does) and carries the same hashes.
Every change happens under one lock; `ApiFailure` carries the status and message an
operation is refused with.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple


class ApiFailure(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Identity(NamedTuple):
    login: str
    owners: frozenset[str]  # the owners this token may write to


@dataclass
class File:
    dist_id: str
    owner: str
    package: str
    version: str
    basename: str  # "<subdir>/<file name>"
    size: int
    md5: str
    sha256: str
    labels: set[str]
    attrs: dict[str, Any]
    dependencies: Any
    description: str | None
    uploaded_at: float
    downloads: int = 0


@dataclass
class Release:
    version: str
    attrs: dict[str, Any] = field(default_factory=dict)
    files: dict[str, File] = field(default_factory=dict)  # by basename


@dataclass
class Package:
    owner: str
    name: str
    public: bool = True
    attrs: dict[str, Any] = field(default_factory=dict)
    releases: dict[str, Release] = field(default_factory=dict)

    def files(self) -> Iterator[File]:
        for release in self.releases.values():
            yield from release.files.values()


@dataclass
class Staged:
    """An upload between `stage` and `commit`: what the client announced, then the bytes."""

    owner: str
    package: str
    version: str
    basename: str
    sha256: str
    labels: list[str]
    attrs: dict[str, Any]
    dependencies: Any
    description: str | None
    data: bytes | None = None


class Model:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.owners: dict[str, dict[str, Package]] = {}
        self.tokens: dict[str, Identity] = {}
        self.blobs: dict[str, bytes] = {}
        self.staged: dict[str, Staged] = {}
        self.offset = 0.0  # added to the clock, to age files without waiting

    def now(self) -> float:
        return time.time() + self.offset

    # -- accounts ----------------------------------------------------------------------
    def add_owner(self, name: str) -> None:
        with self.lock:
            self.owners.setdefault(name, {})

    def issue_token(self, login: str, *, owners: tuple[str, ...] = ()) -> str:
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.add_owner(login)
            self.tokens[token] = Identity(login, frozenset((login, *owners)))
        return token

    def identity(self, token: str) -> Identity | None:
        with self.lock:
            return self.tokens.get(token)

    # -- lookups -----------------------------------------------------------------------
    def packages(self, owner: str) -> dict[str, Package]:
        found = self.owners.get(owner)
        if found is None:
            raise ApiFailure(404, f"user {owner} does not exist")
        return found

    def package(self, owner: str, name: str) -> Package:
        found = self.packages(owner).get(name)
        if found is None:
            raise ApiFailure(404, f"package {owner}/{name} does not exist")
        return found

    def release(self, owner: str, name: str, version: str) -> Release:
        found = self.package(owner, name).releases.get(version)
        if found is None:
            raise ApiFailure(404, f"release {owner}/{name}/{version} does not exist")
        return found

    def file(self, owner: str, name: str, version: str, basename: str) -> File:
        found = self.release(owner, name, version).files.get(basename)
        if found is None:
            raise ApiFailure(404, f"file {owner}/{name}/{version}/{basename} does not exist")
        return found

    def files(self, owner: str) -> Iterator[File]:
        for package in list(self.packages(owner).values()):
            yield from list(package.files())

    def by_basename(self, owner: str, basename: str) -> File | None:
        return next((f for f in self.files(owner) if f.basename == basename), None)

    # -- packages and releases ---------------------------------------------------------
    def add_package(self, owner: str, name: str, *, public: bool, attrs: dict[str, Any]
                    ) -> Package:
        with self.lock:
            packages = self.packages(owner)
            if name in packages:
                raise ApiFailure(409, f"package {owner}/{name} already exists")
            packages[name] = Package(owner, name, public, dict(attrs))
            return packages[name]

    def add_release(self, owner: str, name: str, version: str, attrs: dict[str, Any]
                    ) -> Release:
        with self.lock:
            package = self.package(owner, name)
            if version in package.releases:
                raise ApiFailure(409, f"release {owner}/{name}/{version} already exists")
            package.releases[version] = Release(version, dict(attrs))
            return package.releases[version]

    # -- the upload flow: stage, send the bytes to storage, commit ---------------------
    def stage(self, staged: Staged) -> str:
        with self.lock:
            self.release(staged.owner, staged.package, staged.version)
            if staged.basename in self.release(staged.owner, staged.package,
                                               staged.version).files:
                raise ApiFailure(409, f"file {staged.basename} already exists for package "
                                      f"{staged.package} version {staged.version}")
            dist_id = secrets.token_hex(12)
            self.staged[dist_id] = staged
            return dist_id

    def receive(self, dist_id: str, data: bytes, *, content_md5: str, length: int) -> str | None:
        """Store the bytes of a staged upload; the S3 error code when they are refused."""
        with self.lock:
            staged = self.staged.get(dist_id)
            if staged is None:
                return "AccessDenied"
            if len(data) != length:
                return "IncompleteBody"
            digest = base64.b64encode(hashlib.md5(data).digest()).decode()
            if digest != content_md5:
                return "InvalidDigest"
            staged.data = data
            return None

    def commit(self, dist_id: str, owner: str, name: str, version: str, basename: str) -> File:
        with self.lock:
            staged = self.staged.get(dist_id)
            if staged is None or (staged.owner, staged.package, staged.version,
                                  staged.basename) != (owner, name, version, basename):
                raise ApiFailure(404, f"no staged upload {dist_id} for {basename}")
            if staged.data is None:
                raise ApiFailure(400, "the file was never uploaded to storage")
            if hashlib.sha256(staged.data).hexdigest() != staged.sha256:
                raise ApiFailure(400, "the uploaded file does not match the staged sha256")
            release = self.release(owner, name, version)
            if basename in release.files:
                raise ApiFailure(409, f"file {basename} already exists")
            del self.staged[dist_id]
            made = self._store(staged.data, dist_id=dist_id, owner=owner, package=name,
                               version=version, basename=basename, labels=set(staged.labels),
                               attrs=staged.attrs, dependencies=staged.dependencies,
                               description=staged.description)
            release.files[basename] = made
            return made

    def _store(self, data: bytes, **fields: Any) -> File:
        sha256 = hashlib.sha256(data).hexdigest()
        self.blobs.setdefault(sha256, data)
        return File(size=len(data), md5=hashlib.md5(data).hexdigest(), sha256=sha256,
                    uploaded_at=self.now(), **fields)

    # -- server-side operations --------------------------------------------------------
    def copy(self, source: File, *, to_owner: str, to_label: str, mode: str) -> File | None:
        """Copy one file; mode is "post" (refuse an existing name), "patch" (skip it)
        or "put" (replace it). None when skipped."""
        with self.lock:
            packages = self.packages(to_owner)
            src_package = self.package(source.owner, source.package)
            package = packages.get(source.package) or packages.setdefault(
                source.package, Package(to_owner, source.package, True,
                                        dict(src_package.attrs)))
            release = package.releases.setdefault(source.version, Release(source.version))
            if source.basename in release.files:
                if mode == "post":
                    raise ApiFailure(409, "File conflict while copying!")
                if mode == "patch":
                    return None
            made = File(**{**source.__dict__, "dist_id": secrets.token_hex(12),
                           "owner": to_owner, "labels": {to_label}, "uploaded_at": self.now(),
                           "downloads": 0, "attrs": dict(source.attrs)})
            release.files[source.basename] = made
            return made

    def remove(self, found: File) -> None:
        with self.lock:
            self.release(found.owner, found.package, found.version).files.pop(
                found.basename, None)

    def labels(self, owner: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        with self.lock:
            for found in self.files(owner):
                for label in found.labels:
                    counts[label] = counts.get(label, 0) + 1
        return counts

    def backdate(self, owner: str, basename: str, seconds: float) -> None:
        """Make a file look `seconds` older (for the staging sweep)."""
        with self.lock:
            found = self.by_basename(owner, basename)
            if found is None:
                raise KeyError(basename)
            found.uploaded_at -= seconds
