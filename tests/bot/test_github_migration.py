"""The whole output-validation migration through the GitHub forge, against the stand-in
GitHub: every feedstock provisioned, nothing outside GitHub's description, few requests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from migrator.bot import migrations
from migrator.bot.runner import RunSummary, run_migration
from migrator.bot.state import StateDir
from migrator.bot.task import Options
from migrator.forges.github import GithubForge
from testing.github_server import Faults, GithubServer
from testing.github_server.checks import cost, provisioning_problems
from testing.github_server.fixtures import (  # noqa: F401
    MakeServer,
    app_forge,
    make_github_server,
    seeded_forges,
    token_forge,
)

STAGING = "staging-token-value"


@pytest.fixture(autouse=True)
def staging_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAGING_BINSTAR_TOKEN", STAGING)


def migrate(forge: GithubForge, state: Path, **options: object) -> RunSummary:
    options.setdefault("renderer", "none")
    options.setdefault("jobs", 4)
    migration = migrations.get("output-validation")
    return run_migration(forge, migration, StateDir(state, migration.name),
                         Options(**options))  # type: ignore[arg-type]


def failures(state: Path) -> dict[str, str]:
    found = {}
    for path in (state / "output-validation").glob("*/*.json"):
        record = json.loads(path.read_text())
        if record["status"] == "failed":
            found[record["feedstock"]] = record.get("reason", "?")
    return found


def check_all(server: GithubServer, forge: GithubForge) -> list[str]:
    names = [r.name for r in forge.list_feedstocks() if not r.archived]
    problems = {n: provisioning_problems(server, n, STAGING) for n in names}
    assert not {n: p for n, p in problems.items() if p}
    return names


def test_migration_provisions_every_feedstock_with_few_requests(
    make_github_server: MakeServer, tmp_path: Path,  # noqa: F811
) -> None:
    server = make_github_server(count=40)
    forge = token_forge(server, cache_dir=tmp_path / "cache")
    summary = migrate(forge, tmp_path / "state")
    assert not failures(tmp_path / "state")
    names = check_all(server, forge)
    assert summary.outcomes["done"] == len(names) and summary.outcomes["skipped"] == 1
    spent = cost(server.entries(), names)
    print(f"per feedstock: {spent}")
    # the public key and the secret PUT; verify uses GitHub's answer to that PUT
    assert spent.rest_max <= 2 and spent.writes_max == 1
    assert spent.git <= 6
    assert server.checker.checked["responses"] >= 2 * len(names)

    # a second run finds every feedstock done: the listing answers 304, nothing else
    before = len(server.entries())
    again = migrate(token_forge(server, cache_dir=tmp_path / "cache"), tmp_path / "state")
    assert again.untouched["done"] == len(names) and not again.outcomes
    later = server.entries()[before:]
    assert [(e.method, e.status) for e in later] == [("GET", 304)]


def test_migration_survives_injected_faults(make_github_server: MakeServer,  # noqa: F811
                                            tmp_path: Path) -> None:
    faults = Faults({"5xx": 0.1, "drop": 0.1, "primary": 0.1, "secondary": 0.1}, git=True)
    server = make_github_server(count=30, faults=faults)
    forge = app_forge(server)
    summary = migrate(forge, tmp_path / "state")
    assert not failures(tmp_path / "state")
    assert summary.outcomes["done"] == len(check_all(server, forge))
    survived = forge.budget().faults
    print(f"injected {dict(server.faults.injected)}; survived {survived}")
    for kind in ("5xx", "dropped", "primary", "secondary", "git"):
        assert survived.get(kind, 0) > 0, kind
    assert server.model.token_exchanges >= 1
