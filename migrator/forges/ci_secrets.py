"""What every CI provider's secret store offers the bot: write a feedstock's own token,
tell when the store recorded it, and let the feedstock's jobs read the staging token.

A store holds one `FEEDSTOCK_TOKEN` per feedstock for its provider (conda-smithy's
`--unique-token-per-provider`): Azure Pipelines keeps it as a secret variable of the
feedstock's build definition, GitHub Actions as a repository secret. Neither ever gives
a value back.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple, Protocol

from migrator.core.errors import MigratorError
from migrator.core.secret import Secret
from migrator.forges import RepoInfo

FEEDSTOCK_TOKEN = "FEEDSTOCK_TOKEN"
STAGING_TOKEN = "STAGING_BINSTAR_TOKEN"


class StoreAck(NamedTuple):
    name: str  # "FEEDSTOCK_TOKEN"
    updated_at: dt.datetime  # aware UTC: when the store recorded the write


class StoreError(MigratorError):
    """One feedstock's store failed; the message names the feedstock and the reason."""

    code = "ci-secret-store"


class CISecretStore(Protocol):
    provider: str  # "azure" or "github_actions": the value CI sends as `provider`

    def write_feedstock_token(self, repo: RepoInfo, token: Secret) -> StoreAck: ...

    def feedstock_token_written(self, repo: RepoInfo) -> StoreAck | None:
        """When the store last recorded a `FEEDSTOCK_TOKEN` for `repo`; None: never."""
        ...

    def ensure_staging_access(self, repo: RepoInfo) -> None:
        """Make sure `repo`'s jobs can read the staging token (Azure: the definition
        links the variable group holding it)."""
        ...
