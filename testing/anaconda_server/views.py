"""The JSON the stand-in anaconda.org answers with, shaped as anaconda-client reads it
(`distribution`, `package`, `release`, `show_channel`, `list_channels`), and the
repodata conda.anaconda.org serves per owner, label and subdir.

Repodata records are built from what the uploader sent (`attrs`: the package's
`info/index.json` plus anaconda.org's own keys, which repodata leaves out), with the
name and version of the release and the hashes of the stored bytes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from testing.anaconda_server.model import File, Package, Release

# keys anaconda-client adds to a conda file's attrs that are not index.json fields
ANACONDA_ONLY = frozenset({"operatingsystem", "machine", "target-triplet", "has_prefix"})


def upload_time(at: float) -> str:
    moment = dt.datetime.fromtimestamp(at, dt.timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f+00:00")


def dist_json(found: File, *, api_host: str) -> dict[str, Any]:
    full_name = f"{found.owner}/{found.package}/{found.version}/{found.basename}"
    return {
        "_id": found.dist_id,
        "basename": found.basename,
        "full_name": full_name,
        "owner": found.owner,
        "version": found.version,
        "type": "conda",
        "distribution_type": "conda",
        "size": found.size,
        "md5": found.md5,
        "sha256": found.sha256,
        "labels": sorted(found.labels),
        "attrs": dict(found.attrs),
        "dependencies": found.dependencies,
        "description": found.description,
        "upload_time": upload_time(found.uploaded_at),
        "ndownloads": found.downloads,
        "download_url": f"//{api_host}/download/{full_name}",
    }


def release_json(owner: str, package: Package, release: Release, *, api_host: str
                 ) -> dict[str, Any]:
    return {
        "full_name": f"{owner}/{package.name}/{release.version}",
        "version": release.version,
        "public_attrs": dict(release.attrs),
        "distributions": [dist_json(f, api_host=api_host) for f in release.files.values()],
    }


def package_json(package: Package, *, api_host: str) -> dict[str, Any]:
    files = list(package.files())
    versions = list(package.releases)
    return {
        "name": package.name,
        "full_name": f"{package.owner}/{package.name}",
        "owner": {"login": package.owner},
        "public": package.public,
        "summary": package.attrs.get("summary"),
        "package_types": ["conda"] if files or package.attrs.get("package_types") else [],
        "versions": versions,
        "latest_version": versions[-1] if versions else None,
        "conda_platforms": sorted({str(f.attrs.get("subdir")) for f in files}),
        "releases": [{"version": v, "distributions": list(r.files)}
                     for v, r in package.releases.items()],
        "files": [dist_json(f, api_host=api_host) for f in files],
    }


def user_json(login: str) -> dict[str, Any]:
    return {"login": login, "name": login, "user_type": "org", "company": None,
            "location": None, "url": None, "created_at": upload_time(0.0)}


def record(found: File) -> dict[str, Any]:
    data = {k: v for k, v in found.attrs.items() if k not in ANACONDA_ONLY}
    data.update(name=found.package, version=found.version, size=found.size, md5=found.md5,
                sha256=found.sha256)
    data.setdefault("subdir", found.basename.partition("/")[0])
    return data


def repodata(files: Iterable[File], *, subdir: str) -> dict[str, Any]:
    packages: dict[str, Any] = {}
    conda: dict[str, Any] = {}
    for found in files:
        folder, _, fn = found.basename.partition("/")
        if folder != subdir:
            continue
        (conda if fn.endswith(".conda") else packages)[fn] = record(found)
    return {"info": {"subdir": subdir}, "packages": packages, "packages.conda": conda,
            "removed": [], "repodata_version": 1}
