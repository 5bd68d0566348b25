"""GitHub's limits, scaled down: the forge keeps under the write ceilings at nearly the
allowed rate, spends its primary budget without a limit answer, survives each kind of
fault, and stops with a clear error rather than wait too long."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from migrator.bot import migrations
from migrator.bot.runner import run_migration
from migrator.bot.state import StateDir
from migrator.bot.task import Options
from migrator.core.secret import Secret
from migrator.forges import RepoInfo
from migrator.forges.github import GithubForge
from migrator.forges.pacing import Ceiling, OutOfBudget, Pacer
from migrator.forges.sealing import seal
from testing.azure_server.fixtures import make_azure_server  # noqa: F401
from testing.ci_servers import MakeCiServers, make_ci_servers, outcome_problems  # noqa: F401
from testing.github_server import Faults
from testing.github_server.checks import write_rate
from testing.github_server.fixtures import (  # noqa: F401
    MakeServer,
    fast_pacer,
    make_github_server,
    seeded_forges,
    token_forge,
)


def write_secrets(forge: GithubForge, repos: list[RepoInfo], jobs: int = 8) -> None:
    def one(repo: RepoInfo) -> None:
        key = forge.repo_public_key(repo)
        forge.put_repo_secret(repo, "FEEDSTOCK_TOKEN", seal(key, Secret(repo.name)), key.key_id)

    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(one, repos))


def test_writes_keep_under_the_ceilings_at_nearly_the_allowed_rate(
    make_github_server: MakeServer, tmp_path: Path,  # noqa: F811
) -> None:
    # GitHub's 80/minute and 500/hour with time scaled down: here the short window binds
    ceilings = ((6, 1.0), (400, 60.0))
    server = make_github_server(count=0, ceilings=ceilings)
    for i in range(36):
        server.model.add_repo(f"p{i:02d}-feedstock", tmp_path, repo_id=i + 1)
    forge = token_forge(server, pacer=Pacer(ceilings=tuple(Ceiling(*c) for c in ceilings)))
    repos = forge.list_feedstocks()
    write_secrets(forge, repos)
    names = [r.name for r in repos]
    assert all(server.model.secret_value(n, "FEEDSTOCK_TOKEN") == n for n in names)
    count, rate = write_rate(server.entries(), names)
    allowed = min(limit / seconds for limit, seconds in ceilings)
    print(f"{count} writes at {rate:.2f}/s, {rate / allowed:.0%} of the allowed {allowed:.2f}/s")
    assert not server.limits.refused and forge.pacer.limit_answers == 0
    assert count == 36 and rate >= 0.9 * allowed


def test_the_primary_budget_is_spent_without_a_limit_answer(
    make_github_server: MakeServer,  # noqa: F811
) -> None:
    server = make_github_server(count=4, primary=20, window=2.0)
    forge = token_forge(server, pacer=fast_pacer(reserve=3))
    repo = forge.list_feedstocks()[0]
    for _ in range(30):
        forge.repo_public_key(repo)
    assert not server.limits.refused and forge.pacer.limit_answers == 0
    assert len([e for e in server.entries() if e.status == 200]) == 31


def test_a_wait_past_the_maximum_stops_with_a_clear_error(
    make_github_server: MakeServer,  # noqa: F811
) -> None:
    server = make_github_server(count=4, primary=6, window=3600.0)
    forge = token_forge(server, pacer=fast_pacer(reserve=2, max_wait=5.0))
    repo = forge.list_feedstocks()[0]
    with pytest.raises(OutOfBudget, match="more than the 5s allowed; stop now and resume"):
        for _ in range(10):
            forge.repo_public_key(repo)
    assert not server.limits.refused  # it stopped before GitHub had to refuse anything
    budget = forge.pacer.budget()
    assert budget.remaining == 2 and budget.feedstocks_left == 0


def test_a_limit_answer_asking_too_long_stops_the_run(
    make_github_server: MakeServer,  # noqa: F811
) -> None:
    server = make_github_server(count=2, faults=Faults({"secondary": 1.0}, wait=120))
    forge = token_forge(server, pacer=fast_pacer(max_wait=10.0))
    with pytest.raises(OutOfBudget, match="wait of 120s"):
        forge.list_feedstocks()


@pytest.mark.parametrize("kind", ["5xx", "drop", "primary", "secondary"])
def test_each_kind_of_fault_is_survived_and_counted(
    make_github_server: MakeServer, kind: str,  # noqa: F811
) -> None:
    server = make_github_server(count=8, faults=Faults({kind: 0.3}, seed=11))
    forge = token_forge(server)
    repos = forge.list_feedstocks()
    write_secrets(forge, repos, jobs=4)
    assert all(server.model.secret_value(r.name, "FEEDSTOCK_TOKEN") == r.name for r in repos)
    injected = server.faults.injected[kind]
    survived = forge.pacer.budget().faults.get("dropped" if kind == "drop" else kind, 0)
    assert injected > 0 and survived == injected


def test_running_out_of_budget_ends_the_run_and_the_next_run_resumes(
    make_ci_servers: MakeCiServers, tmp_path: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    staging = "staging-" + "7" * 40
    monkeypatch.setenv("STAGING_BINSTAR_TOKEN", staging)
    servers = make_ci_servers(12, staging=staging, github={"primary": 20, "window": 3600.0})
    server = servers.github
    migration = migrations.get("output-validation")
    state = StateDir(tmp_path / "state", migration.name)
    forge = token_forge(server, pacer=fast_pacer(reserve=2, max_wait=5.0))
    with pytest.raises(OutOfBudget):
        run_migration(forge, migration, state, Options(renderer="none", jobs=2),
                      stores=servers.stores(forge))
    assert not server.limits.refused
    records = list(state.records())
    # a feedstock stopped by the budget is left in progress, to be resumed; the only
    # failures are feedstocks refused for their CI before any token was made
    assert records and all(outcome_problems(servers, r) == [] for r in records
                           if r["status"] == "failed")

    server.limits.primary = 10_000  # the next hour
    again = token_forge(server)
    summary = run_migration(again, migration, state, Options(renderer="none", jobs=2),
                            stores=servers.stores(again))
    finished = summary.outcomes + summary.untouched
    assert finished["done"] + finished["failed"] == 12 and finished["done"] >= 6
    records = list(state.records())
    assert len(records) == 12
    assert {r["feedstock"]: outcome_problems(servers, r) for r in records} == {
        r["feedstock"]: [] for r in records}
