"""Concurrency and crashes: one copy for two identical requests, and a copy killed
between its steps finishes on the next start."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from migrator.service import journal
from migrator.service import local_setup as layout
from migrator.service.server import start_server
from testing.outputs_support import (
    ROOT,
    OutputsEnv,
    body,
    env_fixture,  # noqa: F401 (the env fixture)
    environ_without_token,
    leaks,
    listed,
    stage,
)
from testing.runs import HARNESS


def test_two_identical_requests_at_once_copy_once(env: OutputsEnv,
                                                  tmp_path: Path) -> None:
    dist, sha = stage(env.service, tmp_path, name="pkg00000", fmt=".tar.bz2")
    payload = json.dumps(body("pkg00000", {dist.key: sha})).encode()
    answers: list[tuple[int, dict[str, Any]]] = []
    start = threading.Barrier(2)

    def send(url: str) -> None:
        req = urllib.request.Request(url, data=payload, method="POST",
                                     headers={"FEEDSTOCK_TOKEN": env.token.reveal()})
        start.wait()
        with urllib.request.urlopen(req, timeout=60) as response:
            answers.append((response.status, json.loads(response.read())))

    with start_server(env.service) as server:
        threads = [threading.Thread(target=send, args=(f"{server.url}/feedstock-outputs/copy",))
                   for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert sorted(status for status, _ in answers) == [200, 200]
    kinds = sorted(a["results"][dist.key]["result"] for _, a in answers)
    assert kinds == ["already_published", "copied"]
    # only the request that copied went through quarantine
    steps = []
    for _, answer in answers:
        record = env.service.journal.load(answer["request_id"])
        assert record is not None
        steps.append(record["outputs"][dist.key]["step"])
    assert sorted(steps) == [journal.FINISHED, journal.FINISHED]
    assert listed(env.production) == {dist.fn} and listed(env.staging) == set()


KILL_POINTS = {
    # (failpoint, what must be true of the wreck)
    "between quarantine and production": "outputs-quarantined:1",
    "file in production, not yet indexed": "outputs-file-placed:2",
    "recorded in production, repodata not yet written": "outputs-recorded:1",
    "published, staging not yet cleaned": "outputs-published:1",
}


@pytest.mark.parametrize("where", list(KILL_POINTS))
def test_killed_copy_resumes(env: OutputsEnv, tmp_path: Path, where: str) -> None:
    dist, sha = stage(env.service, tmp_path, name="pkg00000")
    run_env = environ_without_token()
    run_env.update(FEEDSTOCK_TOKEN=env.token.reveal(), MIGRATOR_KILL_AT=KILL_POINTS[where],
                   PYTHONPATH=os.pathsep.join([str(HARNESS), str(ROOT)]))
    proc = subprocess.run(
        [sys.executable, "-m", "migrator", "outputs", "copy", "--forge", str(env.forge.root),
         "--feedstock", "pkg00000-feedstock", f"{dist.key}={sha}"],
        env=run_env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert leaks([env.token.reveal()], [], [" ".join(map(str, proc.args)), proc.stdout,
                                            proc.stderr]) == []

    # the wreck: the request is still active, staging still has the file, and
    # production's repodata lists nothing that is not complete on disk
    service = layout.local_service(env.forge, forge_root=env.forge.root)
    active = service.journal.active_ids()
    assert len(active) == 1
    assert (env.staging.root / dist.subdir / dist.fn).is_file()
    for fn in listed(env.production):
        assert (env.production.root / "noarch" / fn).stat().st_size > 0
    if where == "between quarantine and production":
        assert (env.quarantine.root / dist.subdir / dist.fn).is_file()
        assert listed(env.production) == set()
    if where in ("file in production, not yet indexed",
                 "recorded in production, repodata not yet written"):
        assert (env.production.root / dist.subdir / dist.fn).is_file()
        assert listed(env.production) == set()

    assert service.recover() == active
    assert listed(env.production) == {dist.fn}
    assert (env.production.root / dist.subdir / dist.fn).read_bytes() == \
        (tmp_path / "built" / dist.fn).read_bytes()
    assert listed(env.staging) == set() and listed(env.quarantine) == set()
    assert not (env.staging.root / dist.subdir / dist.fn).exists()
    assert not (env.quarantine.root / dist.subdir / dist.fn).exists()
    assert not list(env.production.root.glob("*/.*.partial"))
    report = service.status(active[0])
    assert report is not None and report.done
    assert report.results[dist.key].kind.value == "copied"
    assert service.journal.active_ids() == []


def test_a_running_request_is_not_recovered_twice(env: OutputsEnv,
                                                  tmp_path: Path) -> None:
    dist, sha = stage(env.service, tmp_path, name="pkg00000")
    receipt = env.service.receive(body("pkg00000", {dist.key: sha}), env.token)
    assert receipt.request_id is not None and receipt.report is None
    with env.service.journal.running(receipt.request_id):
        assert env.service.recover() == []  # another worker holds it
    assert env.service.recover() == [receipt.request_id]
    assert listed(env.production) == {dist.fn}


def test_request_cut_before_its_token_was_checked(env: OutputsEnv,
                                                  tmp_path: Path) -> None:
    dist, sha = stage(env.service, tmp_path, name="pkg00000")
    from migrator.service.request import parse_request

    record = env.service.journal.create(parse_request(body("pkg00000", {dist.key: sha})))
    assert env.service.recover() == [record["id"]]
    report = env.service.status(record["id"])
    assert report is not None and report.error is not None
    assert report.error.kind.value == "interrupted" and report.status_code == 503
    assert listed(env.production) == set() and listed(env.staging) == {dist.fn}


def test_dead_writers_leave_no_partial_files(env: OutputsEnv) -> None:
    folder = env.production.root / "noarch"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    stale = folder / f".x-1-0.conda.{dead}.abcd1234.partial"
    live = folder / f".y-1-0.conda.{os.getpid()}.abcd1234.partial"
    stale.write_bytes(b"half")
    live.write_bytes(b"half")
    assert env.production.sweep() == [stale]
    assert live.exists() and not stale.exists()
