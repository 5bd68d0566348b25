"""500 feedstocks, SIGKILLed at random moments, resumed: each migrated exactly once."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from migrator.bot.state import StateDir
from migrator.core.git import git
from migrator.feedstock import cfyml
from migrator.forges.local import LocalForge
from migrator.registries import token_registry as registry
from testing.runs import HARNESS, ROOT, run_cli
from testing.tokens_support import independent_verify

COUNT = 500
CONFIG_SUBJECT = "***NO_CI*** enable output validation"


def finished(state: StateDir) -> int:
    return sum(1 for r in state.records() if r["status"] in ("done", "failed", "skipped"))


def test_random_kills_then_resume_migrate_each_feedstock_once(tmp_path: Path) -> None:
    seed = int(os.environ.get("KILL_SEED", time.time_ns() % 10_000))
    rng = random.Random(seed)
    run_cli("forge", "init", str(tmp_path / "forge"), "--count", str(COUNT), check=True)
    args = [sys.executable, "-m", "migrator", "run", "output-validation", "--forge",
            str(tmp_path / "forge"), "--state", str(tmp_path / "state"), "--renderer", "none",
            "--batch-size", "25"]
    env = dict(os.environ, PYTHONPATH=f"{HARNESS}{os.pathsep}{ROOT}")
    state = StateDir(tmp_path / "state", "output-validation")
    kills = []
    for _ in range(3):
        target = finished(state) + rng.randint(20, 120)
        proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        while proc.poll() is None and finished(state) < target:
            time.sleep(rng.uniform(0.01, 0.2))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills.append(finished(state))
    final = subprocess.run(args, env=env, capture_output=True, text=True)
    assert final.returncode == 0, (seed, final.stdout[-2000:], final.stderr[-2000:])
    assert kills == sorted(kills) and kills[-1] < COUNT, (seed, kills)

    forge = LocalForge(tmp_path / "forge")
    records = {r["feedstock"]: r for r in state.records()}
    assert len(records) == COUNT
    for repo in forge.list_feedstocks():
        record = records[repo.name]
        if repo.archived:
            assert record["status"] == "skipped"
            continue
        assert record["status"] == "done", (seed, repo.name, record.get("reason"))
        subjects = git("log", "--format=%s", cwd=forge.git_dir(repo.name)).splitlines()
        # what the seed held decides, not the state under test
        first = git("rev-list", "--max-parents=0", "main", cwd=forge.git_dir(repo.name))
        seeded = git("show", f"{first.strip()}:conda-forge.yml", cwd=forge.git_dir(repo.name))
        expected = 0 if cfyml.is_enabled(seeded) else 1
        assert sum(CONFIG_SUBJECT in s for s in subjects) == expected, (seed, repo.name)
        token = forge.ci_secrets(repo)["FEEDSTOCK_TOKEN"]
        text = (forge.read_file(registry.REPO, registry.token_path(repo.name)) or b"").decode()
        forever = [e for e in json.loads(text)["tokens"] if e.get("expires_at") is None]
        assert len(forever) == 1, (seed, repo.name)
        assert independent_verify(token, json.dumps({"tokens": forever})), (seed, repo.name)
