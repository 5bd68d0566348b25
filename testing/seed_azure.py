"""The seeded forge's Azure Pipelines store (`<forge root>/azure/`): one build definition
per feedstock, as conda-smithy registers every feedstock on Azure, and the `anaconda-org`
variable group holding the staging token, sealed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from migrator.core.secret import Secret
from migrator.forges.local_pipelines import add_pipelines, create_staging_group, create_store

FOLDER = "azure"


def create_azure(root: Path, *, staging_token: Secret | None = None) -> Path:
    """The store under the forge `root`, with the staging token's group (a new token
    unless one is given); returns its folder."""
    directory = root / FOLDER
    create_store(directory)
    create_staging_group(directory, staging_token or Secret.new_token())
    return directory


def register_pipelines(directory: Path, *, linked: Sequence[str],
                       unlinked: Sequence[str] = ()) -> None:
    """A build definition per feedstock name (`-feedstock` included); `unlinked` ones lack
    the staging group, which leaves the bot's link step something to do."""
    add_pipelines(directory, linked)
    add_pipelines(directory, unlinked, link_group=False)
