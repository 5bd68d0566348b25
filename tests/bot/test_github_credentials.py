"""No credential in a git process's arguments, a remote URL, a git config, a log line or the
state: a migration runs with `git` wrapped by a script that records what it was given."""

from __future__ import annotations

import json
import logging
import os
import shutil
import stat
from pathlib import Path

import pytest

from migrator.bot import migrations
from migrator.bot.runner import run_migration
from migrator.bot.state import StateDir
from migrator.bot.task import Options
from testing.azure_server.fixtures import make_azure_server  # noqa: F401
from testing.ci_servers import MakeCiServers, make_ci_servers, outcome_problems  # noqa: F401
from testing.github_server.fixtures import (  # noqa: F401
    app_forge,
    make_github_server,
    seeded_forges,
)

WRAPPER = """#!/bin/sh
{{ printf 'ARGV'; for a in "$@"; do printf ' [%s]' "$a"; done; printf '\\n'
  printf 'HEADER-KEY %s\\n' "${{GIT_CONFIG_KEY_0:-none}}"; }} >> "{log}"
"{git}" "$@"
status=$?
for last in "$@"; do :; done
for dir in . "$last"; do
  if [ -f "$dir/.git/config" ]; then
    echo "CONFIG $dir" >> "{log}"; cat "$dir/.git/config" >> "{log}"
  fi
done
exit $status
"""


@pytest.fixture
def recorded_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    real = shutil.which("git")
    assert real is not None
    log = tmp_path / "git-calls.log"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "git"
    wrapper.write_text(WRAPPER.format(log=log, git=real))
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return log


def test_no_credential_leaves_the_process_environment(
    make_ci_servers: MakeCiServers, recorded_git: Path, tmp_path: Path,  # noqa: F811
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
) -> None:
    staging = "staging-" + "5" * 40
    monkeypatch.setenv("STAGING_BINSTAR_TOKEN", staging)
    caplog.set_level(logging.DEBUG)
    # a token renewed mid-run too
    servers = make_ci_servers(6, staging=staging, github={"token_ttl": 21.5})
    server = servers.github
    forge = app_forge(server)
    migration = migrations.get("output-validation")
    state = tmp_path / "state"
    summary = run_migration(forge, migration, StateDir(state, migration.name),
                            Options(renderer="none", jobs=2), workroot=tmp_path,
                            stores=servers.stores(forge))
    # a real feedstock whose CI gets no token is refused before any token is made
    assert summary.outcomes["done"] + summary.outcomes["failed"] == 6
    assert summary.outcomes["done"] >= 3
    for record in StateDir(state, migration.name).records():
        assert outcome_problems(servers, record) == [], record["feedstock"]
    assert len(servers.azure.entries()) > 5  # the Azure DevOps store was used

    credentials = [*server.model.tokens, server.model.app.private_pem.splitlines()[1],
                   servers.azure.pat]
    assert len(server.model.tokens) >= 2  # the admin token and at least one App token
    calls = recorded_git.read_text()
    network = [line for line in calls.splitlines() if line.startswith("ARGV") and
               any(f"[{verb}]" in line for verb in ("clone", "fetch", "push", "ls-remote"))]
    assert network, "the wrapper saw no git network command"
    headers = [line for line in calls.splitlines() if line.startswith("HEADER-KEY")]
    assert f"HEADER-KEY http.{server.url}/.extraheader" in headers
    remote_urls = [line.split("=", 1)[1].strip() for line in calls.splitlines()
                   if line.strip().startswith("url =")]
    assert remote_urls and all("@" not in url for url in remote_urls)
    assert "extraheader" not in "".join(
        line for line in calls.splitlines() if not line.startswith("HEADER-KEY"))
    state_text = "".join(p.read_text() for p in state.rglob("*") if p.is_file())
    logged = "\n".join(r.getMessage() + json.dumps(r.args, default=str) for r in caplog.records)
    for secret in credentials:
        assert secret not in calls
        assert secret not in state_text
        assert secret not in logged
    leftovers = [p for p in tmp_path.rglob("config") if ".git" in p.parts]
    assert all(not any(s in p.read_text() for s in credentials) for p in leftovers)
