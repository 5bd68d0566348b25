"""GitHub and Azure DevOps stand-ins serving one seeded organisation: the feedstocks'
repositories and Actions secrets on the GitHub server, their build definitions on the
Azure DevOps server, and what a finished migration must have left on both."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from migrator.feedstock import cfyml
from migrator.forges.actions_store import ActionsStore
from migrator.forges.ci_secrets import CISecretStore
from migrator.forges.github import GithubForge
from migrator.forges.pacing import Pacer
from migrator.registries import token_registry as registry
from testing.azure_server.fixtures import MakeAzure, store_for
from testing.azure_server.local_import import import_local
from testing.azure_server.server import AzureServer
from testing.github_server.fixtures import MakeServer
from testing.github_server.server import GithubServer
from testing.provider_checks import provider_problems, seeded_providers


@dataclass
class CiServers:
    github: GithubServer
    azure: AzureServer
    staging: str  # the staging token both services give the feedstocks' jobs

    def stores(self, forge: GithubForge, *, pacer: Pacer | None = None,
               **options: Any) -> dict[str, CISecretStore]:
        """The CI secret stores a run uses: Actions through `forge`, and Azure Pipelines
        through the Azure DevOps stand-in."""
        return {"github_actions": ActionsStore(forge),
                "azure": store_for(self.azure, pacer=pacer, **options)}

    def ci_secrets(self, feedstock: str, provider: str) -> Mapping[str, str]:
        """What a job of `provider` is given (the runner's view, not an API answer)."""
        if provider == "azure":
            try:
                return self.azure.ci_secrets(feedstock)
            except StopIteration:  # no build definition
                return {}
        return self.github.model.ci_secrets(feedstock)

    def show(self, repo: str, rev: str) -> str | None:
        git_dir = self.github.model.repos[repo].git_dir
        proc = subprocess.run(["git", "show", rev], cwd=git_dir, capture_output=True,
                              text=True)
        return proc.stdout if proc.returncode == 0 else None

    def registry_text(self, feedstock: str) -> str | None:
        return self.show(registry.REPO, f"main:{registry.token_path(feedstock)}")

    def expected_providers(self, feedstock: str,
                           recorded: Iterable[str] = ()) -> frozenset[str]:
        """The seed's providers for a generated feedstock; for a real one, the providers
        its state record names (the seed does not know them)."""
        return seeded_providers(self.github.local.root, feedstock) or frozenset(recorded)

    def problems(self, feedstock: str, providers: Iterable[str]) -> list[str]:
        """Empty when each provider's jobs hold a token the registry verifies for it (the
        one never-expiring entry of that provider) and can read the staging token, and
        conda-forge.yml has the key."""
        found = provider_problems(self.ci_secrets, self.registry_text(feedstock), feedstock,
                                  providers, staging=self.staging)
        branch = self.github.model.repos[feedstock].default_branch
        config = self.show(feedstock, f"{branch}:conda-forge.yml")
        if config is None or not cfyml.is_enabled(config):
            found.append(f"conda-forge.yml lacks {cfyml.KEY}: true")
        return found


# the steps before any token is made: a feedstock refused there (its CI gets no token,
# or its CI files cannot be rerendered) must be left as it was
BEFORE_ANY_TOKEN = ("detect-providers", "check-renderable")


def outcome_problems(servers: CiServers, record: Mapping[str, Any]) -> list[str]:
    """Empty when a finished feedstock's state record is right on both services: done
    and correct for each provider it builds on, or refused before any token was made,
    with nothing in the token registry."""
    name = str(record["feedstock"])
    if record["status"] == "failed":
        if record.get("last_step") not in BEFORE_ANY_TOKEN:
            return [f"failed at {record.get('last_step')}: {record.get('reason')}"]
        if servers.registry_text(name) is not None:
            return ["refused before any token, yet it has registry entries"]
        return []
    if record["status"] != "done":
        return [f"{record['status']}: {record.get('reason')}"]
    providers = servers.expected_providers(name, record["providers"])
    found = servers.problems(name, providers)
    if set(record["providers"]) != providers:
        found.append(f"detected {record['providers']}, seeded {sorted(providers)}")
    return found


MakeCiServers = Callable[..., CiServers]


@pytest.fixture
def make_ci_servers(make_github_server: MakeServer, make_azure_server: MakeAzure,
                    ) -> Iterator[MakeCiServers]:
    """Both stand-ins for a seeded organisation of `count` feedstocks (each fails its
    test on anything outside its service's description). `github` and `azure` hold each
    server's own options."""

    def make(count: int, *, staging: str, github: dict[str, Any] | None = None,
             azure: dict[str, Any] | None = None) -> CiServers:
        hub = make_github_server(count=count, **(github or {}))
        pipelines = make_azure_server(feedstocks=(), **(azure or {}))
        import_local(pipelines.model, Path(hub.local.root) / "azure", staging=staging)
        return CiServers(hub, pipelines, staging)

    yield make


# GitHub's secondary write limits per identity (80 a minute, 500 an hour); Azure DevOps
# publishes none, so the store's own ceilings stand in for them
GITHUB_WRITE_CEILINGS = ((80, 60.0), (500, 3600.0))


def writes_per_hour(ceilings: Iterable[tuple[int, float]]) -> float:
    return min(limit * 3600.0 / seconds for limit, seconds in ceilings)


def feedstocks_per_hour(*, github_writes: float, azure_writes: float) -> float:
    """Feedstocks an hour both services' write limits allow, given each one's mean
    content-creating requests per provisioned feedstock."""
    from migrator.forges.azure_env import AZURE_CEILINGS

    rates = [writes_per_hour(GITHUB_WRITE_CEILINGS) / github_writes if github_writes else
             float("inf"),
             writes_per_hour((c.limit, c.seconds) for c in AZURE_CEILINGS) / azure_writes
             if azure_writes else float("inf")]
    return min(rates)
