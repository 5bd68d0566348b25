"""The whole output-validation migration through the GitHub forge and the Azure Pipelines
store, against the stand-in GitHub and Azure DevOps: every feedstock provisioned for each
CI provider it builds on, nothing outside either service's description, few requests."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from migrator.bot import migrations
from migrator.bot.runner import RunSummary, run_migration
from migrator.bot.state import StateDir
from migrator.bot.task import Options
from migrator.forges.github import GithubForge
from testing.azure_server import Faults as AzureFaults
from testing.azure_server.checks import azure_cost, without_written_tokens, written_tokens
from testing.azure_server.faults import FAULT_KINDS as AZURE_FAULTS
from testing.azure_server.fixtures import make_azure_server  # noqa: F401
from testing.ci_servers import (  # noqa: F401
    CiServers,
    MakeCiServers,
    feedstocks_per_hour,
    make_ci_servers,
    outcome_problems,
)
from testing.github_server import Faults
from testing.github_server.checks import cost
from testing.github_server.fixtures import (  # noqa: F401
    app_forge,
    make_github_server,
    seeded_forges,
    token_forge,
)
from testing.leakscan import request_texts, scan

STAGING = "staging-token-value"


@pytest.fixture(autouse=True)
def staging_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAGING_BINSTAR_TOKEN", STAGING)


def migrate(servers: CiServers, forge: GithubForge, state: Path,
            **options: Any) -> RunSummary:
    options.setdefault("renderer", "none")
    options.setdefault("jobs", 4)
    migration = migrations.get("output-validation")
    return run_migration(forge, migration, StateDir(state, migration.name), Options(**options),
                         stores=servers.stores(forge))


def records(state: Path) -> dict[str, dict[str, Any]]:
    return {r["feedstock"]: r for r in StateDir(state, "output-validation").records()}


def check_all(servers: CiServers, forge: GithubForge, state: Path) -> list[str]:
    """The feedstocks provisioned, each correct for every provider it builds on; the only
    failures are feedstocks refused for their CI before any token was made."""
    found = records(state)
    names = []
    for repo in forge.list_feedstocks():
        record = found[repo.name]
        if repo.archived:
            assert record["status"] == "skipped"
            continue
        assert outcome_problems(servers, record) == [], repo.name
        if record["status"] == "done":
            names.append(repo.name)
    return names


def by_provider(servers: CiServers, names: list[str], state: Path) -> dict[str, list[str]]:
    found = records(state)
    return {p: [n for n in names if p in found[n]["providers"]]
            for p in ("azure", "github_actions")}


def test_migration_provisions_every_feedstock_with_few_requests(
    make_ci_servers: MakeCiServers, tmp_path: Path, tokens_created: list[str],  # noqa: F811
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    servers = make_ci_servers(40, staging=STAGING)
    unlinked = [d.name for d in servers.azure.model.definitions.values() if not d.groups]
    forge = token_forge(servers.github, cache_dir=tmp_path / "cache")
    summary = migrate(servers, forge, tmp_path / "state")
    names = check_all(servers, forge, tmp_path / "state")
    uses = by_provider(servers, names, tmp_path / "state")
    assert uses["azure"] and uses["github_actions"] and set(uses["azure"]) & set(
        uses["github_actions"])
    assert summary.outcomes["done"] == len(names) and summary.outcomes["skipped"] == 1
    leak_scan(servers, tokens_created, uses["azure"], tmp_path,
              [caplog.text, *capfd.readouterr()])

    github = cost(servers.github.entries(), names)
    azure = azure_cost(servers.azure, servers.azure.entries(), names)
    on_azure = azure_cost(servers.azure, servers.azure.entries(), uses["azure"])
    print(f"\nper provisioned feedstock ({len(names)}): GitHub {github.rest:.2f} REST "
          f"({github.writes:.2f} content-creating), Azure DevOps {azure.requests:.2f} "
          f"({azure.writes:.2f} content-creating)")
    # GitHub: the open pull requests, and for an Actions feedstock the public key and the
    # secret PUT (verify uses GitHub's answer to that PUT)
    assert github.rest_max <= 3 and github.writes_max == 1 and github.git <= 6
    assert cost(servers.github.entries(), uses["github_actions"]).writes == 1
    # Azure: find the definition, read it, put the token back (and the group link when
    # it lacked it); nothing for a feedstock that does not build there
    assert on_azure.requests_max <= 4 and on_azure.writes_max <= 2
    assert 1 <= azure.overhead <= 4  # the variable group, read once per worker at most
    assert azure_cost(servers.azure, servers.azure.entries(),
                      [n for n in names if n not in uses["azure"]]).requests_max == 0
    assert unlinked and set(unlinked) <= set(uses["azure"])  # linked: problems() checks
    assert azure_cost(servers.azure, servers.azure.entries(), unlinked).writes == 2
    assert servers.github.checker.checked["responses"] >= 2 * len(names)
    assert servers.azure.checker.checked["responses"] >= 3 * len(uses["azure"])
    hourly = feedstocks_per_hour(github_writes=github.writes, azure_writes=azure.writes)
    print(f"implied: {hourly:.0f} feedstocks/hour under both services' write limits")
    assert hourly >= 500  # GitHub's 500 writes an hour, one per feedstock at most

    # a second run finds every feedstock finished: the listing answers 304, nothing else
    before, azure_before = len(servers.github.entries()), len(servers.azure.entries())
    again = migrate(servers, token_forge(servers.github, cache_dir=tmp_path / "cache"),
                    tmp_path / "state")
    assert again.untouched["done"] == len(names) and not again.outcomes
    later = servers.github.entries()[before:]
    assert [(e.method, e.status) for e in later] == [("GET", 304)]
    assert servers.azure.entries()[azure_before:] == []


def leak_scan(servers: CiServers, created: list[str], on_azure: list[str], tree: Path,
              texts: list[str]) -> None:
    """No token created is anywhere but in its own store: not in the forge's files (the
    local Azure store's included), the state, the logs, the output, nor any request to
    GitHub or Azure DevOps, save the one place Azure DevOps takes a secret variable's
    value (the body of the PUT that sets it, over TLS)."""
    entries = servers.azure.entries()
    written = written_tokens(servers.azure, entries)
    assert sorted(name for name, _ in written) == sorted(on_azure)  # one write each
    assert all(servers.azure.secret_value(name, "FEEDSTOCK_TOKEN") == value
               and value in created for name, value in written)
    github = [f"{e.method} {e.path}" for e in servers.github.entries()]
    requests = request_texts(without_written_tokens(entries))
    assert len(created) >= len(written) > 0
    assert scan(created, trees=[tree], texts=[*requests, *github, *texts]) == []
    # the controls: the scan finds the values in the PUTs as sent, and a token planted in
    # any other part of a request, or in the local Azure store's files
    assert len(scan(created, trees=[], texts=request_texts(entries))) == len(written)
    token = written[0][1]
    planted = [entries[0]._replace(query=f"name={token}"),
               entries[0]._replace(headers=(("X-Token", token),)),
               entries[0]._replace(body=json.dumps({"variables": {"OTHER": {"value": token}}}))]
    assert len(scan([token], trees=[], texts=request_texts(without_written_tokens(
        planted)))) == 3
    store = next(tree.rglob("azure/store.json")).parent
    (store / "pipelines" / "planted.json").write_text(token)
    assert scan([token], trees=[tree]) == [f"file {store / 'pipelines' / 'planted.json'}"]


def test_migration_survives_injected_faults(make_ci_servers: MakeCiServers,  # noqa: F811
                                            tmp_path: Path) -> None:
    faults = Faults({"5xx": 0.1, "drop": 0.1, "primary": 0.1, "secondary": 0.1}, git=True)
    azure_faults = AzureFaults({kind: 0.05 for kind in AZURE_FAULTS})
    servers = make_ci_servers(30, staging=STAGING, github={"faults": faults},
                              azure={"faults": azure_faults})
    forge = app_forge(servers.github)
    summary = migrate(servers, forge, tmp_path / "state")
    assert summary.outcomes["done"] == len(check_all(servers, forge, tmp_path / "state"))
    survived = forge.pacer.budget().faults
    print(f"injected {dict(servers.github.faults.injected)}; survived {survived}")
    for kind in ("5xx", "dropped", "primary", "secondary", "git"):
        assert survived.get(kind, 0) > 0, kind
    assert servers.github.model.token_exchanges >= 1
    print(f"Azure DevOps injected {dict(azure_faults.injected)}")
    assert sum(azure_faults.injected.values()) > 0
