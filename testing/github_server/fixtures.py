"""pytest fixtures: servers that fail their test on any request or answer outside GitHub's
description, seeded from the project's own local-forge seeding."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from github import Auth

from migrator.forges.github import GithubForge, github_forge_from_env
from migrator.forges.local import LocalForge
from migrator.forges.pacing import Ceiling, Pacer
from testing.github_server.server import GithubServer
from testing.seed import create_forge

MakeServer = Callable[..., GithubServer]


@pytest.fixture(scope="session")
def seeded_forges(tmp_path_factory: pytest.TempPathFactory) -> Callable[[int], Path]:
    """A local forge of `count` feedstocks, made once per session; tests get copies."""
    made: dict[int, Path] = {}

    def seeded(count: int) -> Path:
        if count not in made:
            root = tmp_path_factory.mktemp("seed") / "forge"
            create_forge(root, count=count, workers=1)
            made[count] = root
        return made[count]

    return seeded


@pytest.fixture
def make_github_server(tmp_path: Path, seeded_forges: Callable[[int], Path],
                       ) -> Iterator[MakeServer]:
    servers: list[GithubServer] = []

    def make(count: int = 8, **config: Any) -> GithubServer:
        seed = seeded_forges(count) if count else None  # forks: before the server's threads
        server = GithubServer(**config).start()
        servers.append(server)
        if seed is not None:
            root = tmp_path / f"forge{len(servers)}"
            shutil.copytree(seed, root, symlinks=True)
            local = LocalForge(root)
            server.model.import_local(local)
            server.local = local
        return server

    yield make
    for server in servers:
        server.stop()
    problems = [v for s in servers for v in s.checker.violations]
    assert not problems, "requests or answers outside GitHub's description:\n" + \
        "\n".join(problems[:20])


@pytest.fixture
def github_server(make_github_server: MakeServer) -> GithubServer:
    return make_github_server()


def local_of(server: GithubServer) -> LocalForge:
    found: LocalForge = server.local
    return found


def token_forge(server: GithubServer, *, pacer: Pacer | None = None,
                cache_dir: Path | None = None, **kwargs: Any) -> GithubForge:
    return GithubForge(org=server.model.org, auth=Auth.Token(server.admin_token),
                       api_url=server.api_url, git_url=server.url, cache_dir=cache_dir,
                       pacer=pacer or fast_pacer(), backoff=0.05, **kwargs)


def app_forge(server: GithubServer, *, pacer: Pacer | None = None) -> GithubForge:
    return github_forge_from_env(server.app_env(), org=server.model.org,
                                 pacer=pacer or fast_pacer(), backoff=0.05)


def fast_pacer(**kwargs: Any) -> Pacer:
    """Ceilings a test does not notice unless it asks for them."""
    kwargs.setdefault("ceilings", (Ceiling(10_000, 1.0),))
    kwargs.setdefault("secondary_wait", 0.2)
    kwargs.setdefault("max_wait", 30.0)
    return Pacer(**kwargs)
