"""pytest fixtures: a stand-in anaconda.org with conda-forge's three owners and one token
per owner, as the service holds them; a test fails if any request it caused was not one
anaconda-client would send, or if the server itself raised."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import pytest

from testing.anaconda_server.server import AnacondaServer

STAGING, POST_STAGING, PROD = "cf-staging", "cf-post-staging", "conda-forge"
TOKEN_VARS = {STAGING: "STAGING_BINSTAR_TOKEN", POST_STAGING: "POST_STAGING_BINSTAR_TOKEN",
              PROD: "PROD_BINSTAR_TOKEN"}


class Site(NamedTuple):
    server: AnacondaServer
    tokens: dict[str, str]  # owner -> a token that may write to it

    def environ(self) -> dict[str, str]:
        """The service's environment: each owner's token under conda-forge's name."""
        return {TOKEN_VARS[owner]: token for owner, token in self.tokens.items()}


MakeSite = Callable[..., Site]


def new_site(**config: Any) -> Site:
    server = AnacondaServer(owners=(STAGING, POST_STAGING, PROD), **config).start()
    tokens = {owner: server.model.issue_token(f"{owner}-bot", owners=(owner,))
              for owner in (STAGING, POST_STAGING, PROD)}
    return Site(server, tokens)


@pytest.fixture(name="make_site")
def make_site_fixture() -> Iterator[MakeSite]:
    """Import `make_site_fixture` into a test module to get the `make_site` fixture."""
    sites: list[Site] = []

    def make(**config: Any) -> Site:
        site = new_site(**config)
        sites.append(site)
        return site

    yield make
    for site in sites:
        site.server.stop()
    problems = [v for s in sites for v in s.server.checker.violations]
    assert not problems, "requests anaconda-client would not send, or server errors:\n" + \
        "\n".join(problems[:20])


@pytest.fixture(name="site")
def site_fixture(make_site: MakeSite) -> Site:
    """Import `site_fixture` (and `make_site_fixture`) to get the `site` fixture."""
    return make_site()
