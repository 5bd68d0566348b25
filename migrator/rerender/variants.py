"""The build variants a feedstock has: one per `.ci_support/<config>.yaml` file."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

from migrator.feedstock.yamlload import load_yaml
from migrator.rerender.refused import RenderError

CI_SUPPORT = ".ci_support"
# Config names and images end up in generated YAML and shell; refuse anything unusual.
_CONFIG = re.compile(r"^[A-Za-z0-9_.+-]+$")
_IMAGE = re.compile(r"^[A-Za-z0-9_.:/@-]+$")
OSES = ("linux", "osx", "win")
ARCHES = ("64", "aarch64", "ppc64le", "arm64", "riscv64", "s390x", "32")


class Variant(NamedTuple):
    config: str  # the file name without .yaml, e.g. "linux_64_python3.12.____cpython"
    platform: str  # e.g. "linux_64", "osx_arm64"
    docker_image: str | None  # linux only: the image the variant file asks for


def read_variants(files: Mapping[str, bytes]) -> list[Variant]:
    """Every variant in `files` (paths relative to the feedstock root), sorted by name."""
    prefix = f"{CI_SUPPORT}/"
    paths = sorted(p for p in files if p.startswith(prefix) and "/" not in p[len(prefix):])
    if not paths:
        raise RenderError(
            f"{CI_SUPPORT} is missing or empty: no variant files to render from "
            f"(conda-smithy creates them)"
        )
    variants = [_variant(p, files[p]) for p in paths if _is_variant_file(p[len(prefix):])]
    if not variants:
        found = ", ".join(p[len(prefix):] for p in paths)
        raise RenderError(
            f"{CI_SUPPORT} has no variant files (expected linux_*.yaml, osx_*.yaml or "
            f"win_*.yaml; found {found})"
        )
    return variants


def _is_variant_file(name: str) -> bool:
    return name.endswith(".yaml") and name.split("_", 1)[0] in OSES and "_" in name


def platform_of(config: str) -> str:
    os_, _, rest = config.partition("_")
    arch = rest.split("_", 1)[0]
    # Old names had no architecture (`linux_.yaml`, `osx_c_compilerclang...`): 64-bit.
    return f"{os_}_{arch}" if arch in ARCHES else f"{os_}_64"


def _variant(path: str, raw: bytes) -> Variant:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RenderError(f"{path} is not UTF-8 text") from None
    data = load_yaml(text, what=path)
    if not isinstance(data, dict):
        raise RenderError(
            f"{path} must hold a mapping of variant keys, found {type(data).__name__}")
    config = path.rsplit("/", 1)[1][: -len(".yaml")]
    if not _CONFIG.match(config):
        raise RenderError(f"{path}: the variant name has characters a CI file cannot hold")
    platform = platform_of(config)
    image = data.get("docker_image")
    if isinstance(image, list):
        image = image[-1] if image else None
    docker_image = str(image) if image is not None and platform.startswith("linux") else None
    if docker_image is not None and not _IMAGE.match(docker_image):
        raise RenderError(f"{path}: docker_image {docker_image!r} is not an image name")
    return Variant(config=config, platform=platform, docker_image=docker_image)
