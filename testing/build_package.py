"""Build a small, real conda package (what a CI build would upload), for the demo, the
benchmark and tests. Needs conda-package-handling."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from migrator.core.errors import UserError


def build_package(
    out_dir: Path, *, name: str, version: str = "1.0.0", build: str = "0",
    build_number: int = 0, subdir: str = "noarch", fmt: str = ".conda",
    depends: Sequence[str] = (), files: Mapping[str, bytes] | None = None,
    index_overrides: Mapping[str, object] | None = None,
) -> Path:
    """Write `<out_dir>/<name>-<version>-<build><fmt>` and return its path."""
    try:
        from conda_package_handling import api
    except ImportError:
        raise UserError("building packages needs conda-package-handling "
                        "(pip install 'migrator[test]')") from None
    payload = dict(files or {f"share/{name}/README": f"{name} {version}\n".encode()})
    index: dict[str, object] = {
        "name": name, "version": version, "build": build, "build_number": build_number,
        "subdir": subdir, "depends": list(depends), "license": "BSD-3-Clause",
        "timestamp": int(time.time() * 1000),
    }
    if subdir == "noarch":
        index["noarch"] = "generic"
    else:
        index["platform"], index["arch"] = _platform(subdir)
    index.update(index_overrides or {})
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pkg-") as tmp:
        prefix, out = Path(tmp) / "prefix", Path(tmp) / "out"
        paths = []
        for rel, data in sorted(payload.items()):
            target = prefix / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            paths.append({"_path": rel, "path_type": "hardlink", "size_in_bytes": len(data),
                          "sha256": hashlib.sha256(data).hexdigest()})
        info = prefix / "info"
        info.mkdir(parents=True)
        (info / "index.json").write_text(json.dumps(index, indent=2, sort_keys=True))
        (info / "paths.json").write_text(json.dumps({"paths": paths, "paths_version": 1}))
        (info / "files").write_text("".join(f"{p['_path']}\n" for p in paths))
        (info / "about.json").write_text(json.dumps({"summary": f"The {name} package"}))
        stem = f"{name}-{version}-{build}"
        out.mkdir()
        api.create(str(prefix), None, stem + fmt, out_folder=str(out))
        target = out_dir / f"{stem}{fmt}"
        shutil.move(str(out / target.name), target)
    return target


def _platform(subdir: str) -> tuple[str | None, str | None]:
    os_name, _, arch = subdir.partition("-")
    return {"osx": "osx", "linux": "linux", "win": "win"}.get(os_name, os_name), {
        "64": "x86_64", "32": "x86", "aarch64": "aarch64", "arm64": "arm64",
        "ppc64le": "ppc64le"}.get(arch, arch)
