"""Which CI provider builds each variant, and on what kind of machine."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from migrator.rerender.refused import RenderError
from migrator.rerender.settings import Settings
from migrator.rerender.variants import Variant

AZURE = "azure"
GITHUB_ACTIONS = "github_actions"
OSES = ("linux", "osx", "win")
# Where a platform builds when conda-forge.yml does not say.
OS_DEFAULT_PROVIDER = {"linux": GITHUB_ACTIONS, "osx": AZURE, "win": AZURE}
_FOLLOW_OS = ("default", "native", "emulated")
_GHA_RUNNERS = {
    "linux_64": "ubuntu-latest",
    "linux_aarch64": "ubuntu-24.04-arm",
    "osx_64": "macos-15-intel",
    "osx_arm64": "macos-15",
    "win_64": "windows-2022",
    "win_arm64": "windows-11-arm",
}
_AZURE_IMAGES = {"linux": "ubuntu-latest", "osx": "macOS-15", "win": "windows-2022"}
_DOCKER_ARCH = {"64": "x86_64", "aarch64": "aarch64", "ppc64le": "ppc64le"}
_LABEL = re.compile(r"^[A-Za-z0-9._-]+$")


class Job(NamedTuple):
    config: str
    os: str  # "linux", "osx" or "win"
    platform: str  # the platform the packages are for, e.g. "linux_aarch64"
    build_platform: str  # the platform the job runs on, e.g. "linux_64" when cross-compiling
    provider: str  # AZURE or GITHUB_ACTIONS
    runner: tuple[str, ...]  # GitHub Actions runs-on labels, or the Azure vmImage
    docker_image: str | None


class Plan(NamedTuple):
    azure: Mapping[str, tuple[Job, ...]]  # os -> its jobs, only oses that have jobs
    github_actions: tuple[Job, ...]

    @property
    def oses(self) -> tuple[str, ...]:
        used = set(self.azure) | {job.os for job in self.github_actions}
        return tuple(os_ for os_ in OSES if os_ in used)


def plan_jobs(variants: list[Variant], settings: Settings) -> Plan:
    azure: dict[str, list[Job]] = {}
    github: list[Job] = []
    for variant in sorted(variants, key=lambda v: v.config):
        job = _job(variant, settings)
        if job is None:
            continue
        if job.provider == AZURE:
            azure.setdefault(job.os, []).append(job)
        else:
            github.append(job)
    return Plan(
        azure={os_: tuple(azure[os_]) for os_ in OSES if os_ in azure},
        github_actions=tuple(github),
    )


def _job(variant: Variant, settings: Settings) -> Job | None:
    os_ = variant.platform.split("_", 1)[0]
    raw = _raw_provider(variant.platform, settings.providers)
    mode = str(raw) if raw in _FOLLOW_OS else "default"
    if raw in _FOLLOW_OS and variant.platform != f"{os_}_64":
        raw = _raw_provider(f"{os_}_64", settings.providers)  # go where the os builds
    if raw in _FOLLOW_OS:
        raw = OS_DEFAULT_PROVIDER[os_]
    if raw is None or raw is False:
        return None  # conda-forge.yml turns CI off for this platform
    provider, self_hosted = _provider(str(raw), variant.platform)
    build_platform = settings.build_platform.get(variant.platform, variant.platform)
    if provider == AZURE:
        runner = _azure_image(os_, build_platform, settings.azure)
    elif self_hosted:
        runner = (str(raw), "self-hosted")
    else:
        runner = _gha_runner(build_platform, mode)
    return Job(
        config=variant.config,
        os=os_,
        platform=variant.platform,
        build_platform=build_platform,
        provider=provider,
        runner=runner,
        docker_image=_docker_image(variant) if os_ == "linux" else None,
    )


def _raw_provider(platform: str, providers: Mapping[str, Any]) -> Any:
    if platform in providers:
        return providers[platform]
    os_, arch = platform.split("_", 1)
    if arch == "64" and os_ in providers:
        return providers[os_]
    return "default"


def _provider(raw: str, platform: str) -> tuple[str, bool]:
    if raw in (AZURE, GITHUB_ACTIONS):
        return raw, False
    if raw.startswith("cirun-") and _LABEL.match(raw):
        return GITHUB_ACTIONS, True
    raise RenderError(
        f"{platform} builds on {raw!r}, which the builtin renderer does not render "
        f"(it renders azure and github_actions); use the conda-smithy renderer"
    )


def _gha_runner(build_platform: str, mode: str) -> tuple[str, ...]:
    if mode == "emulated" and build_platform.startswith("linux_"):
        return ("ubuntu-latest",)
    # linux architectures without hosted runners build under qemu on x86_64
    return (_GHA_RUNNERS.get(build_platform, "ubuntu-latest"),)


def _azure_image(os_: str, build_platform: str, azure: Mapping[str, Any]) -> tuple[str, ...]:
    settings = azure.get(f"settings_{os_}")
    pool = settings.get("pool") if isinstance(settings, dict) else None
    if isinstance(pool, dict) and isinstance(pool.get("vmImage"), str):
        if not _LABEL.match(pool["vmImage"]):
            raise RenderError(f"conda-forge.yml: azure.settings_{os_}.pool.vmImage is not an image")
        return (pool["vmImage"],)
    if build_platform == "osx_arm64":
        return ("macOS-15-arm64",)
    return (_AZURE_IMAGES[os_],)


def _docker_image(variant: Variant) -> str:
    if variant.docker_image:
        return variant.docker_image
    arch = _DOCKER_ARCH.get(variant.platform.split("_", 1)[1], "x86_64")
    return f"quay.io/condaforge/linux-anvil-{arch}:alma9"
