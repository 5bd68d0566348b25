"""Which CI providers build a feedstock, per platform, and which of them upload.

Rendered CI files are the truth where present: every job names its variant (`CONFIG`,
whose name starts with the target platform) and whether it uploads (`UPLOAD_PACKAGES`).
A platform that has a `.ci_support/*.yaml` variant but no rendered job (a partial set of
files) gets its provider from `conda-forge.yml` the way conda-smithy resolves it: the
`build_platform` a platform is built on, the legacy `linux`/`osx`/`win` keys, and
`default`/`emulated`/`native` values. `upload_on_branch` only narrows the branch a
provider uploads from, so it changes nothing here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

from migrator.core.errors import MigratorError
from migrator.feedstock import FeedstockError
from migrator.feedstock.yamlload import load_yaml

PROVIDERS = ("azure", "github_actions", "travis", "circle", "drone", "woodpecker", "appveyor")
# conda-smithy's configure_feedstock.py and data/conda-forge.yml as of 2026-08
DEFAULT_PROVIDER = "github_actions"
DEFAULT_PROVIDERS = {
    "linux_64": "github_actions", "linux_aarch64": "github_actions",
    "linux_ppc64le": "github_actions", "linux_s390x": "github_actions",
    "osx_64": "azure", "osx_arm64": "azure", "win_64": "github_actions",
    "win_arm64": "github_actions",
}
NATIVE_PROVIDERS = {**DEFAULT_PROVIDERS, "linux_ppc64le": "travis", "linux_s390x": "travis"}
CONFIGURED_DEFAULTS = {"linux_64": "github_actions", "osx_64": "azure", "win_64": "github_actions"}

PLATFORMS = (
    "linux_64", "linux_aarch64", "linux_ppc64le", "linux_s390x", "linux_armv6l",
    "linux_armv7l", "linux_riscv64", "linux_ppc64", "linux_32", "osx_64", "osx_arm64",
    "win_64", "win_arm64", "win_32", "emscripten_wasm32", "wasi_wasm32", "freebsd_64", "zos_z",
)
_BY_LENGTH = sorted(PLATFORMS, key=len, reverse=True)
_FILES = {
    ".github/workflows/conda-build.yml": "github_actions", ".travis.yml": "travis",
    ".circleci/config.yml": "circle", ".drone.yml": "drone", ".woodpecker.yml": "woodpecker",
    ".appveyor.yml": "appveyor", "appveyor.yml": "appveyor",
}
_AZURE = re.compile(r"^\.azure-pipelines/azure-pipelines-(linux|osx|win)\.yml$")
_VARIANT = re.compile(r"^\.ci_support/([^/]+)\.yaml$")
_ENV_WORD = re.compile(r"(?:^|\s)(CONFIG|UPLOAD_PACKAGES)=(\S+)")
_DOCUMENT = re.compile(r"^---[ \t]*$", re.M)
_MAX_NODES = 200_000


class ProviderUse(NamedTuple):
    provider: str
    platform: str
    source: str  # the file or "conda-forge.yml" that shows it


class ProviderDetectionError(MigratorError):
    """A file needed to tell the providers cannot be read; the message names it."""

    code = "bad-config"


class _Job(NamedTuple):
    use: ProviderUse
    uploads: bool


def ci_providers(files: Mapping[str, bytes]) -> list[ProviderUse]:
    return sorted({job.use for job in _jobs(files)})


def uploading_providers(files: Mapping[str, bytes]) -> frozenset[str]:
    return frozenset(job.use.provider for job in _jobs(files) if job.uploads)


def platform_of(config: str) -> str:
    """The target platform a variant name starts with (`linux_` alone is linux_64, the
    naming before arch suffixes); "unknown" when the name starts with none."""
    for platform in _BY_LENGTH:
        if config == platform or config.startswith(platform + "_"):
            return platform
    for system in ("linux", "osx", "win"):
        if config == system or config.startswith(system + "_"):
            return system + "_64"
    return "unknown"


def _jobs(files: Mapping[str, bytes]) -> list[_Job]:
    jobs: list[_Job] = []
    for path in sorted(files):
        azure = _AZURE.match(path)
        provider = "azure" if azure else _FILES.get(path)
        if provider is not None:
            jobs.extend(_rendered(path, provider, files[path]))
    shown = {job.use.platform for job in jobs}
    variants = sorted({platform_of(m[1]) for p in files if (m := _VARIANT.match(p))})
    missing = [platform for platform in variants if platform not in shown]
    if missing:
        jobs.extend(_configured(files, missing))
    return jobs


def _rendered(path: str, provider: str, data: bytes) -> Iterator[_Job]:
    text = data.decode("utf-8", "replace")
    for document in _DOCUMENT.split(text):
        try:
            tree = load_yaml(document, what=path, allow_duplicate_keys=True)
        except FeedstockError as exc:
            raise ProviderDetectionError(str(exc)) from None
        for config, upload in _configs(tree, path):
            yield _Job(ProviderUse(provider, platform_of(config), path), _truthy(upload, True))


def _configs(tree: Any, path: str) -> Iterator[tuple[str, Any]]:
    """(CONFIG, UPLOAD_PACKAGES or None) for every job entry anywhere in the tree."""
    stack, seen = [tree], 0
    while stack:
        node = stack.pop()
        seen += 1
        if seen > _MAX_NODES:
            raise ProviderDetectionError(f"{path} has more than {_MAX_NODES} YAML nodes")
        if isinstance(node, dict):
            config = node.get("CONFIG")
            if isinstance(config, str) and config and "$" not in config:
                yield config.strip(), node.get("UPLOAD_PACKAGES")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, str) and "CONFIG=" in node:
            words = {m[1]: m[2] for m in _ENV_WORD.finditer(node)}
            if "CONFIG" in words and "$" not in words["CONFIG"]:
                yield words["CONFIG"].strip("'\""), words.get("UPLOAD_PACKAGES")


def _truthy(value: Any, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip("'\" ").lower() not in ("false", "no", "off", "0", "")
    return bool(value)


def _configured(files: Mapping[str, bytes], platforms: list[str]) -> Iterator[_Job]:
    config = _forge_config(files)
    build_on = config.get("build_platform") or {}
    chosen = {**CONFIGURED_DEFAULTS, **_mapping(config, "provider")}
    for platform in platforms:
        host = build_on.get(platform, platform) if isinstance(build_on, dict) else platform
        host = host if isinstance(host, str) else platform
        system, _, arch = host.partition("_")
        key = system if arch == "64" and chosen.get(system) else host
        for provider in _resolve(key, chosen.get(key)):
            settings = config.get(provider)
            upload = settings.get("upload_packages") if isinstance(settings, dict) else None
            yield _Job(ProviderUse(provider, platform, "conda-forge.yml"), _truthy(upload, True))


def _resolve(key: str, value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    found = []
    for item in values:
        if item in ("default", "emulated"):
            item = DEFAULT_PROVIDERS.get(key, DEFAULT_PROVIDER)
        elif item == "native":
            item = NATIVE_PROVIDERS.get(key, DEFAULT_PROVIDER)
        # conda-smithy renders no job for a value that names no provider (null, false,
        # "None", or a mistake such as a platform name), so neither does this
        if item in PROVIDERS:
            found.append(item)
    return found


def _forge_config(files: Mapping[str, bytes]) -> dict[str, Any]:
    data = files.get("conda-forge.yml")
    if data is None:
        return {}
    try:
        tree = load_yaml(data.decode("utf-8", "replace"), what="conda-forge.yml",
                         allow_duplicate_keys=True)
    except FeedstockError as exc:
        raise ProviderDetectionError(str(exc)) from None
    if tree is None or tree == []:
        return {}
    if not isinstance(tree, dict):
        raise ProviderDetectionError("conda-forge.yml is not a mapping of settings")
    return tree


def _mapping(config: dict[str, Any], key: str) -> dict[str, Any]:
    value = config.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ProviderDetectionError(f"conda-forge.yml: {key!r} is not a mapping")
    return value
