"""What a provisioned feedstock must hold for each CI provider it builds on, checked from
the outside: the token each provider's CI job is given verifies against the registry for
that provider (with the independent implementation), and each provider has exactly one
never-expiring entry, the one in its store.

The providers a seeded feedstock builds on come from the seed (its CI layout), not from
the bot's own detection, so the bot's answer is checked rather than trusted.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from migrator.core.errors import MigratorError
from migrator.forges.local import LocalForge
from migrator.forges.local_pipelines import LocalPipelines
from migrator.registries import token_registry as registry
from testing.tokens_support import independent_verify

PROVIDERS = ("azure", "github_actions")
# the CI layouts of `testing.seed_layouts`: where their uploading jobs run
LAYOUT_PROVIDERS = {
    "github-actions": frozenset({"github_actions"}),
    "azure-linux": frozenset({"azure"}),
    "azure": frozenset({"azure"}),
    "mixed": frozenset({"azure", "github_actions"}),
}
CiSecrets = Callable[[str, str], Mapping[str, str]]  # (feedstock, provider) -> job's secrets


def seeded_providers(forge_root: Path, feedstock: str) -> frozenset[str] | None:
    """The providers a generated feedstock's seeded layout builds on; None for a corpus
    feedstock, whose layout the seed does not name."""
    table = json.loads((Path(forge_root) / "repos.json").read_text())
    source = str(table[feedstock].get("source", ""))
    kind, _, layout = source.partition(":")
    return LAYOUT_PROVIDERS[layout] if kind == "generated" else None


def local_ci_secrets(forge: LocalForge) -> CiSecrets:
    """What a job of each provider is given on the local forge (the runner's view)."""
    pipelines = LocalPipelines(forge.root / "azure")

    def secrets(feedstock: str, provider: str) -> Mapping[str, str]:
        if provider == "azure":
            try:
                return pipelines.ci_secrets(feedstock)
            except MigratorError:
                return {}
        return forge.ci_secrets(forge.repo(feedstock))

    return secrets


def registry_text(forge: LocalForge, feedstock: str) -> str | None:
    raw = forge.read_file(registry.REPO, registry.token_path(feedstock))
    return None if raw is None else raw.decode()


def never_expiring(text: str) -> list[dict[str, object]]:
    return [e for e in json.loads(text)["tokens"] if e.get("expires_at") is None]


def token_problems(text: str | None, tokens: Mapping[str, str | None],
                   providers: Iterable[str]) -> list[str]:
    """Empty when, for every provider, `tokens[provider]` is the one never-expiring entry
    of that provider (so it verifies for that provider), and no other never-expiring
    entry is left (for a provider not built on, or naming none)."""
    providers = sorted(providers)
    if text is None:
        return ["no registry file"]
    problems = []
    forever = never_expiring(text)
    for provider in providers:
        token = tokens.get(provider)
        mine = [e for e in forever if e.get("provider") == provider]
        if token is None:
            problems.append(f"{provider}: no FEEDSTOCK_TOKEN in its store")
        elif len(mine) != 1:
            problems.append(f"{provider}: {len(mine)} never-expiring entries, not one")
        # one scrypt per provider: a match with its one live, never-expiring entry is a
        # token that verifies for the provider
        elif not independent_verify(token, json.dumps({"tokens": mine}), provider=provider):
            verifies = independent_verify(token, text, provider=provider)
            problems.append(f"{provider}: the never-expiring entry is not its token's "
                            f"(the token {'does' if verifies else 'does not'} verify)")
    stray = [e.get("provider") for e in forever if e.get("provider") not in providers]
    if stray:
        problems.append(f"never-expiring entries of providers not built on: {stray}")
    return problems


def provider_problems(secrets: CiSecrets, text: str | None, feedstock: str,
                      providers: Iterable[str], *, staging: str | None = None) -> list[str]:
    """`token_problems` with each provider's token read from its CI's view; with
    `staging`, each provider's jobs must also be given that staging token."""
    providers = sorted(providers)
    given = {p: secrets(feedstock, p) for p in providers}
    problems = token_problems(text, {p: given[p].get("FEEDSTOCK_TOKEN") for p in providers},
                              providers)
    if staging is not None:
        problems += [f"{p}: its jobs cannot read STAGING_BINSTAR_TOKEN" for p in providers
                     if given[p].get("STAGING_BINSTAR_TOKEN") != staging]
    return problems


def unused_store_tokens(secrets: CiSecrets, feedstock: str,
                        providers: Iterable[str]) -> list[str]:
    """The providers a feedstock does not build on whose store holds a FEEDSTOCK_TOKEN
    for it anyway (the bot must write none there)."""
    return [p for p in PROVIDERS if p not in set(providers)
            and "FEEDSTOCK_TOKEN" in secrets(feedstock, p)]
