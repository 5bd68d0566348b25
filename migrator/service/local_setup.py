"""Where the service keeps things on the embedded default forge:

    <forge>/channels/cf-staging        staging: CI uploads here
    <forge>/channels/cf-post-staging   quarantine: only the service writes here
    <forge>/channels/conda-forge       production
    <forge>/outputs-service/           the request journal, locks, scratch space
"""

from __future__ import annotations

from pathlib import Path

from migrator.channels.directory import LocalChannel
from migrator.forges import Forge
from migrator.service.core import Service
from migrator.service.pipeline import Channels

STAGING, QUARANTINE, PRODUCTION = "cf-staging", "cf-post-staging", "conda-forge"


def local_channels(root: Path) -> Channels:
    root = Path(root)
    return Channels(
        staging=LocalChannel(root / STAGING),
        quarantine=LocalChannel(root / QUARANTINE),
        production=LocalChannel(root / PRODUCTION),
    )


def local_service(forge: Forge, *, forge_root: Path, channels_root: Path | None = None,
                  state_dir: Path | None = None, lock_timeout: float = 120.0) -> Service:
    return Service(
        forge=forge,
        channels=local_channels(channels_root or Path(forge_root) / "channels"),
        state_dir=state_dir or Path(forge_root) / "outputs-service",
        lock_timeout=lock_timeout,
    )
