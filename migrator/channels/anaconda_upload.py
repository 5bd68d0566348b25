"""Uploading one file to an anaconda.org owner the way `anaconda upload` does: make sure
the package and the release exist, stage the file (its sha256 and attributes), send the
bytes to the storage form the stage answer names, then commit.

The CI jobs upload with anaconda-client itself; the service never uploads. This path
is for tests and the demo, and holds the file in memory so a retried storage POST
sends the same bytes again.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from migrator.channels.anaconda_http import AnacondaApi, Conflict, NotFound, quote
from migrator.channels.dists import Dist
from migrator.channels.package import BadPackage, inspect_package


def upload_file(api: AnacondaApi, owner: str, path: Path, dist: Dist, *,
                labels: Sequence[str]) -> str:
    """Upload `path` as `dist` under `labels` (anaconda.org gives an upload without
    labels `main`); returns the sha256 sent."""
    data = Path(path).read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    index = _index(path, dist)
    where = f"{quote(owner)}/{quote(dist.name)}"
    _ensure(api, f"/package/{where}", {
        "public": True, "publish": False,
        "public_attrs": {"summary": index.get("summary") or dist.name,
                         "package_types": ["conda"],
                         "license": {"name": index.get("license"), "url": None,
                                     "family": None}}})
    release = f"{where}/{quote(dist.version)}"
    _ensure(api, f"/release/{release}",
            {"requirements": [], "announce": None, "description": None})
    attrs = {k: v for k, v in index.items() if k not in ("name", "version", "summary")}
    attrs.setdefault("subdir", dist.subdir)
    staged = api.call("POST", f"/stage/{release}/{quote(dist.key)}", json={
        "distribution_type": "conda", "description": None, "attrs": attrs,
        "dependencies": {"depends": list(index.get("depends", []))},
        "channels": list(labels), "sha256": sha256})
    form = {str(k): str(v) for k, v in dict(staged["form_data"]).items()}
    form["Content-Length"] = str(len(data))
    form["Content-MD5"] = base64.b64encode(hashlib.md5(data).digest()).decode()
    api.send("POST", staged["post_url"], what=f"storage upload of {dist.key}",
             ok=(200, 201, 204), data=form, files={"file": (dist.fn, data)})
    try:
        api.call("POST", f"/commit/{release}/{quote(dist.key)}",
                 json={"dist_id": staged["dist_id"]})
    except (Conflict, NotFound):
        # a commit that landed but whose answer was lost is not there to commit again;
        # the same bytes under the name are the upload done
        try:
            held = api.call("GET", f"/dist/{release}/{quote(dist.key)}")
        except NotFound:
            held = None
        if not held or held.get("sha256") != sha256:
            raise
    return sha256


def _ensure(api: AnacondaApi, path: str, body: dict[str, Any]) -> None:
    try:
        api.call("GET", path)
    except NotFound:
        try:
            api.call("POST", path, json=body)
        except Conflict:
            pass  # made meanwhile, or by a try whose answer was lost


def _index(path: Path, dist: Dist) -> dict[str, Any]:
    """The package's own index.json; a file that is not a readable package is still
    uploaded (judging packages is the service's job) with what its name says."""
    try:
        return dict(inspect_package(path, dist).index_json)
    except BadPackage:
        return {"subdir": dist.subdir, "build": dist.build, "build_number": 0,
                "depends": []}
