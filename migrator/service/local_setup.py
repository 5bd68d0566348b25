"""Where the service keeps things on the embedded default forge:

    <forge>/channels/cf-staging        staging: CI uploads here
    <forge>/channels/cf-post-staging   quarantine: only the service writes here
    <forge>/channels/conda-forge       production
    <forge>/outputs-service/           the request journal, locks, scratch space

Staging and quarantine are working areas: they keep records, and no repodata is
written for them; production's repodata is what solvers read.
"""

from __future__ import annotations

from pathlib import Path

from migrator.channels.directory import LocalChannel
from migrator.forges import Forge
from migrator.service.core import Service
from migrator.service.publisher import Channels

STAGING, QUARANTINE, PRODUCTION = "cf-staging", "cf-post-staging", "conda-forge"


def local_channels(root: Path) -> Channels:
    root = Path(root)
    return Channels(
        staging=LocalChannel(root / STAGING, repodata=False),
        quarantine=LocalChannel(root / QUARANTINE, repodata=False),
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
