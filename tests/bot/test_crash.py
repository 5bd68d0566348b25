"""SIGKILL at every step boundary, resume, and prove nothing is lost, doubled or leaked."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from migrator.core.git import git
from migrator.forges.local import LocalForge
from testing.leakscan import scan
from testing.provider_checks import (
    local_ci_secrets,
    provider_problems,
    registry_text,
    seeded_providers,
    unused_store_tokens,
)
from testing.runs import run_cli

KILL_POINTS = [
    "create-token:2", "register-hash.staged:2", "flush:1", "write-secret:2",
    "staging-access:2", "verify-token:2", "register-outputs.staged:2", "flush:2",
    "switch:2",
]
CONFIG_SUBJECT = "***NO_CI*** enable output validation"
RERENDER_SUBJECT = "***NO_CI*** MNT: validate outputs before they reach conda-forge"


def git_shim(folder: Path, log: Path) -> Path:
    """A `git` first on PATH that records every argument list, then runs the real git."""
    folder.mkdir()
    real = next(Path(p) / "git" for p in os.environ["PATH"].split(os.pathsep)
                if (Path(p) / "git").is_file())
    shim = folder / "git"
    shim.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\nexec "{real}" "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    return folder


@pytest.mark.parametrize("kill_at", KILL_POINTS)
def test_killed_run_resumes_to_a_correct_and_leak_free_forge(tmp_path: Path, kill_at: str) -> None:
    work = tmp_path / "work"
    work.mkdir()
    token_log = tmp_path / "tokens.txt"  # outside every scanned folder
    argv_log = work / "git-argv.log"
    shim = git_shim(tmp_path / "shim", argv_log)
    env = {"PATH": f"{shim}{os.pathsep}{os.environ['PATH']}", "TMPDIR": str(work)}
    run_cli("forge", "init", str(work / "forge"), "--count", "6", "--corpus-share", "0",
            check=True)
    args = ("run", "output-validation", "--forge", str(work / "forge"), "--state",
            str(work / "state"), "--jobs", "1", "--batch-size", "2", "--renderer", "patch")
    killed = run_cli(*args, env={**env, "MIGRATOR_KILL_AT": kill_at}, token_log=token_log)
    assert killed.returncode == -9, killed.stderr
    # the killed run's work folder stays behind, holding no token; the next run clears it
    left = sorted(work.glob("migrator-*"))
    assert left and scan(token_log.read_text().split(), trees=left) == []
    resumed = run_cli(*args, env=env, token_log=token_log)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert not [path for path in left if path.exists()]
    rotated = run_cli("run", "rotate-tokens", "--forge", str(work / "forge"), "--state",
                      str(work / "state"), "--batch-size", "2", env=env, token_log=token_log)
    assert rotated.returncode == 0, rotated.stdout + rotated.stderr

    forge = LocalForge(work / "forge")
    secrets = local_ci_secrets(forge)
    built_on: set[str] = set()
    for repo in forge.list_feedstocks():
        if repo.archived:
            continue
        providers = seeded_providers(forge.root, repo.name)
        assert providers, repo.name
        built_on |= providers
        text = registry_text(forge, repo.name)
        # each provider's job holds a token that verifies for that provider, and it is
        # the one entry of that provider without an expiry
        assert provider_problems(secrets, text, repo.name, providers) == [], repo.name
        assert unused_store_tokens(secrets, repo.name, providers) == [], repo.name
        subjects = git("log", "--format=%s", cwd=forge.git_dir(repo.name)).splitlines()
        assert sum(CONFIG_SUBJECT in s for s in subjects) == 1, (repo.name, subjects)
        assert sum(RERENDER_SUBJECT in s for s in subjects) == 1, (repo.name, subjects)
    assert built_on == {"azure", "github_actions"}

    tokens = token_log.read_text().split()
    assert len(tokens) >= 5 * 2  # provisioned and rotated: every feedstock, twice
    texts = [killed.stdout, killed.stderr, resumed.stdout, resumed.stderr, rotated.stdout,
             rotated.stderr]
    assert argv_log.read_text().count("\n") > 20  # the shim saw the git traffic
    assert scan(tokens, trees=[work], texts=texts) == []


def test_the_leak_scan_finds_what_it_looks_for(tmp_path: Path) -> None:
    token = "ab" * 32
    repo = tmp_path / "repo"
    git("init", "-q", str(repo))
    (repo / "f").write_text(f"x{token}y")
    git("add", "f", cwd=repo)
    git("commit", "-qm", "plant", cwd=repo)
    (repo / "f").unlink()  # gone from the work tree, still in a commit
    assert scan([token], trees=[tmp_path]) == [f"git objects of {repo / '.git'}"]
    (tmp_path / "log.txt").write_text(token)
    assert f"file {tmp_path / 'log.txt'}" in scan([token], trees=[tmp_path])
    assert scan([token], trees=[], texts=["...", token]) == ["captured text #1"]
