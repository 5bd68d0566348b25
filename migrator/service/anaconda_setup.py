"""The service with its channels on anaconda.org: `cf-staging` (CI uploads there),
`cf-post-staging` (quarantine: only the service writes there) and `conda-forge`, each
reached with its own token, read from the environment under the names
conda-forge-webservices reads (never from arguments or files):

    STAGING_BINSTAR_TOKEN        cf-staging
    POST_STAGING_BINSTAR_TOKEN   cf-post-staging
    PROD_BINSTAR_TOKEN           conda-forge

Registries stay on the forge; the journal, locks and scratch space in `state_dir`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from migrator.channels.anaconda import AnacondaChannel
from migrator.channels.anaconda_http import API_URL, AnacondaApi, RetryPolicy
from migrator.core.errors import UserError
from migrator.core.secret import Secret
from migrator.forges import Forge
from migrator.service.core import Service
from migrator.service.local_setup import PRODUCTION, QUARANTINE, STAGING
from migrator.service.publisher import Channels

TOKEN_VARS = {STAGING: "STAGING_BINSTAR_TOKEN", QUARANTINE: "POST_STAGING_BINSTAR_TOKEN",
              PRODUCTION: "PROD_BINSTAR_TOKEN"}


def _token(environ: Mapping[str, str], owner: str) -> Secret:
    name = TOKEN_VARS[owner]
    value = environ.get(name, "").strip()
    if not value:
        raise UserError(f"set {name} in the environment: the anaconda.org token for {owner}")
    return Secret(value)


def anaconda_channel_from_env(owner: str, *, base_url: str = API_URL,
                              environ: Mapping[str, str] | None = None,
                              policy: RetryPolicy | None = None) -> AnacondaChannel:
    """One of the three owners, with its own token (so a job that touches only staging,
    such as the sweep, is never given production's)."""
    environ = os.environ if environ is None else environ
    return AnacondaChannel(AnacondaApi(base_url, _token(environ, owner), policy=policy),
                           owner)


def anaconda_channels_from_env(*, base_url: str = API_URL,
                               environ: Mapping[str, str] | None = None,
                               policy: RetryPolicy | None = None) -> Channels:
    def channel(owner: str) -> AnacondaChannel:
        return anaconda_channel_from_env(owner, base_url=base_url, environ=environ,
                                         policy=policy)

    return Channels(staging=channel(STAGING), quarantine=channel(QUARANTINE),
                    production=channel(PRODUCTION))


def anaconda_service(forge: Forge, *, state_dir: Path, base_url: str = API_URL,
                     environ: Mapping[str, str] | None = None,
                     policy: RetryPolicy | None = None, lock_timeout: float = 120.0
                     ) -> Service:
    return Service(forge=forge,
                   channels=anaconda_channels_from_env(base_url=base_url, environ=environ,
                                                       policy=policy),
                   state_dir=Path(state_dir), lock_timeout=lock_timeout)
