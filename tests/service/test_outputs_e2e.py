"""End to end on the embedded default: a provisioned feedstock's CI builds a package,
uploads it to staging and asks the running service (over real HTTP) to copy it."""

from __future__ import annotations

import json
import logging
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from migrator import cli
from migrator.core.secret import Secret
from migrator.service import journal
from migrator.service.client import copy_via_service
from migrator.service.server import start_server
from testing import play_ci as demo
from testing.outputs_support import (
    OutputsEnv,
    env_fixture,  # noqa: F401 (the env fixture)
    leaks,
    listed,
    solve,
    stage,
)


def post(url: str, payload: Any, token: str | None) -> tuple[int, dict[str, Any]]:
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    req = urllib.request.Request(url, data=data, method="POST",
                                 headers={"Content-Type": "application/json"})
    if token is not None:
        req.add_header("FEEDSTOCK_TOKEN", token)  # the header name CI sends today
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def wait_for_job(status_url: str, limit: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        with urllib.request.urlopen(status_url) as response:
            report: dict[str, Any] = json.loads(response.read())
        if report["done"]:
            return report
        time.sleep(0.05)
    raise AssertionError(f"the job at {status_url} did not finish within {limit} s")


def test_ci_play_over_http(env: OutputsEnv, tmp_path: Path,
                           caplog: pytest.LogCaptureFixture,
                           capfd: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)
    repo = env.forge.repo("pkg00000-feedstock")
    # what the CI job is given: its repository secrets, decrypted by the runner
    token = env.forge.ci_secrets(repo)["FEEDSTOCK_TOKEN"]
    assert Secret(token) == env.token
    dist, sha = stage(env.service, tmp_path, name="pkg00000", version="2.1.0",
                      depends=["libpkg00001 >=1"])
    lib, lib_sha = stage(env.service, tmp_path, name="libpkg00001", fmt=".tar.bz2")
    body = {"feedstock": "pkg00000-feedstock", "outputs": {dist.key: sha},
            "channel": "main", "git_sha": "b" * 40, "hash_type": "sha256",
            "provider": "github_actions", "comment_on_error": True}

    with start_server(env.service) as server:
        status, report = post(f"{server.url}/feedstock-outputs/copy", body, token)
        # the dependency is another feedstock's output: its own token copies it, as a job
        other = env.forge.ci_secrets(env.forge.repo("pkg00001-feedstock"))["FEEDSTOCK_TOKEN"]
        job_status, job = copy_via_service(
            server.url, {**body, "feedstock": "pkg00001-feedstock",
                         "outputs": {lib.key: lib_sha}}, Secret(other), poll=0.05)

    assert (status, report["copied"], report["errors"]) == (200, {dist.key: True}, [])
    assert report["results"][dist.key]["result"] == "copied"
    assert (job_status, job["done"], job["results"][lib.key]["result"]) == (200, True, "copied")
    assert listed(env.production) == {dist.fn, lib.fn}
    assert listed(env.staging) == set() and listed(env.quarantine) == set()
    assert not (env.staging.root / "noarch" / dist.fn).exists()
    assert not (env.quarantine.root / "noarch" / dist.fn).exists()
    record = env.service.journal.load(report["request_id"])
    assert record is not None and record["state"] == journal.DONE
    assert record["outputs"][dist.key]["step"] == journal.FINISHED

    solved = solve(env.production.url(), ["pkg00000 ==2.1.0"])
    assert sorted((r["name"], r["version"], r["sha256"]) for r in solved) == [
        ("libpkg00001", "1.0.0", lib_sha), ("pkg00000", "2.1.0", sha)]

    out, err = capfd.readouterr()
    secrets = [token, other]
    assert leaks(secrets, [env.root], [caplog.text, out, err]) == []


def test_job_form_answers_at_once_and_reports_later(env: OutputsEnv,
                                                    tmp_path: Path) -> None:
    dist, sha = stage(env.service, tmp_path, name="pkg00000")
    body = {"feedstock": "pkg00000-feedstock", "outputs": {dist.key: sha},
            "hash_type": "sha256", "channel": "main"}
    with start_server(env.service) as server:
        status, accepted = post(f"{server.url}/feedstock-outputs/jobs", body,
                                env.token.reveal())
        assert status == 202 and accepted["done"] is False
        first = wait_for_job(f"{server.url}{accepted['status_url']}")
        # the same outputs again, once the first job has published them
        status, payload = copy_via_service(server.url, body, env.token, poll=0.05)
        missing = urllib.request.Request(f"{server.url}/feedstock-outputs/jobs/" + "0" * 32)
        with pytest.raises(urllib.error.HTTPError) as not_found:
            urllib.request.urlopen(missing)
    assert first["done"] is True and first["results"][dist.key]["result"] == "copied"
    assert status == 200 and payload["results"][dist.key]["result"] == "already_published"
    assert not_found.value.code == 404


def test_play_ci_for_the_demo(env: OutputsEnv, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    summary = demo.play_ci(env.forge, "pkg00000-feedstock", tmp_path / "ci")
    printed = capsys.readouterr().out
    assert summary["ok"] and summary["in_production"] and summary["staging_clean"]
    assert summary["results"] == {summary["package"]: "copied"}
    assert "registered" not in summary  # provisioning registered pkg00000 already
    assert f"copy request {summary['request_id']} answered 200" in printed
    assert "production lists it: yes; staging clean: yes" in printed


def test_cli_copy_takes_the_token_from_the_environment(
        env: OutputsEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    dist, sha = stage(env.service, tmp_path, name="pkg00000")
    argv = ["copy", "--forge", str(env.forge.root), "--feedstock", "pkg00000-feedstock",
            f"{dist.key}={sha}"]
    monkeypatch.delenv("FEEDSTOCK_TOKEN", raising=False)
    assert cli.main(["outputs", *argv]) == 2
    assert "FEEDSTOCK_TOKEN" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["outputs", *argv, "--token", env.token.reveal()])  # no such option
    monkeypatch.setenv("FEEDSTOCK_TOKEN", env.token.reveal())
    assert cli.main(["outputs", *argv]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["results"][dist.key]["result"] == "copied"
    assert listed(env.production) == {dist.fn}
