"""How the Azure Pipelines store paces itself and reads its environment: Azure DevOps'
limit answers on a fake clock, ceilings and credentials from the environment, and the
service's timestamps."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from migrator.core.errors import UserError
from migrator.forges import RepoInfo
from migrator.forges.azure import azure_pipelines_from_env
from migrator.forges.azure_env import azure_pacer, azure_pacer_with
from migrator.forges.azure_http import parse_time
from migrator.forges.pacing import Ceiling, OutOfBudget
from testing.azure_server.fixtures import MakeAzure, make_azure_server  # noqa: F401


def repo(name: str = "numpy-feedstock") -> RepoInfo:
    return RepoInfo(1, name, "main", False)


def test_azure_limits_on_a_fake_clock() -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    pacer = azure_pacer_with(clock=lambda: now[0], sleep=sleep, max_wait=60.0)
    assert pacer.spacing == pytest.approx(3.6)  # 1000 an hour binds before 30 a minute
    assert pacer.observe(200, {"X-RateLimit-Delay": "0.250"}, None) is None
    assert pacer.observe(200, {"X-RateLimit-Remaining": "0",
                               "X-RateLimit-Reset": str(int(time.time()) + 3000)},
                         None) is None  # TSTUs left say nothing about requests left
    with pacer.slot("GET"):
        assert now[0] == 0.25
    assert pacer.observe(429, {"Retry-After": "7"}, "TF400733: blocked") == "blocked"
    with pacer.slot("GET"):
        assert now[0] == 7.25
    with pytest.raises(OutOfBudget, match="Azure DevOps's limits ask for a wait of 90s"):
        pacer.observe(429, {"Retry-After": "90"}, None)


def test_the_environment_gives_the_token_the_server_and_the_pacing(
    make_azure_server: MakeAzure,  # noqa: F811
) -> None:
    server = make_azure_server(("numpy-feedstock",))
    with pytest.raises(UserError, match="AZURE_DEVOPS_TOKEN"):
        azure_pipelines_from_env({})
    env = {"AZURE_DEVOPS_TOKEN": server.pat, "AZURE_DEVOPS_URL": server.url,
           "MIGRATOR_AZURE_CEILINGS": "100/1,2000/3600", "MIGRATOR_AZURE_MAX_WAIT": "5"}
    store = azure_pipelines_from_env(env, backoff=0.01)
    assert store.http.pacer.ceilings == (Ceiling(100, 1.0), Ceiling(2000, 3600.0))
    assert store.http.pacer.max_wait == 5.0 and store.provider == "azure"
    store.ensure_staging_access(repo())
    assert [e.user for e in server.entries()] == ["", "", ""]  # basic, empty user name
    for bad in ("80", "0/60", "x/y"):
        with pytest.raises(UserError, match="MIGRATOR_AZURE_CEILINGS"):
            azure_pacer({"MIGRATOR_AZURE_CEILINGS": bad})


def test_timestamps_of_dotnet_precision() -> None:
    assert parse_time("2026-01-02T03:04:05.1234567Z") == \
        dt.datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=dt.timezone.utc)
    assert parse_time("2026-01-02T03:04:05Z").tzinfo == dt.timezone.utc
    assert parse_time("2026-01-02T05:04:05.5+02:00") == \
        dt.datetime(2026, 1, 2, 3, 4, 5, 500000, tzinfo=dt.timezone.utc)
    assert parse_time("2026-01-02T01:04:05.25-02:00") == \
        dt.datetime(2026, 1, 2, 3, 4, 5, 250000, tzinfo=dt.timezone.utc)
    with pytest.raises(ValueError, match="not a timestamp"):
        parse_time("yesterday")
