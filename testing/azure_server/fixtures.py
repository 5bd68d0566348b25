"""pytest fixtures: stand-in Azure DevOps servers that fail their test on any request or
answer outside Microsoft's description, and stores that talk to them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from migrator.core.secret import Secret
from migrator.forges.azure import AzurePipelines
from migrator.forges.azure_env import azure_pacer_with
from migrator.forges.pacing import Ceiling, Pacer
from testing.azure_server.model import Variable
from testing.azure_server.server import AzureServer

MakeAzure = Callable[..., AzureServer]
STAGING_VALUE = "staging-token-of-the-test-group"


@pytest.fixture
def make_azure_server() -> Iterator[MakeAzure]:
    servers: list[AzureServer] = []

    def make(feedstocks: tuple[str, ...] = ("numpy-feedstock", "scipy-feedstock"),
             *, linked: bool = True, **config: Any) -> AzureServer:
        server = AzureServer(**config).start()
        servers.append(server)
        server.model.add_group("anaconda-org", {
            "STAGING_BINSTAR_TOKEN": Variable(STAGING_VALUE, is_secret=True)})
        for name in feedstocks:
            server.model.add_definition(name, groups=("anaconda-org",) if linked else ())
        return server

    yield make
    for server in servers:
        server.stop()
    problems = [v for s in servers for v in s.checker.violations]
    assert not problems, "requests or answers outside Azure DevOps' description:\n" + \
        "\n".join(problems[:20])


def fast_azure_pacer(**kwargs: Any) -> Pacer:
    """Ceilings a test does not notice unless it asks for them."""
    kwargs.setdefault("ceilings", (Ceiling(10_000, 1.0),))
    kwargs.setdefault("secondary_wait", 0.2)
    kwargs.setdefault("max_wait", 30.0)
    return azure_pacer_with(**kwargs)


def store_for(server: AzureServer, *, pacer: Pacer | None = None,
              **options: Any) -> AzurePipelines:
    options.setdefault("backoff", 0.02)
    options.setdefault("timeout", 5.0)
    return AzurePipelines(pat=Secret(server.pat), base_url=server.url,
                          organization=server.model.organization,
                          project=server.model.project, pacer=pacer or fast_azure_pacer(),
                          **options)
