"""Runs that overlap: two runs over the same feedstocks with separate state directories,
at the same time or one after the other, and rotations run again later. Whatever the
overlap, each provider of each feedstock ends with exactly one never-expiring entry, and
it is the token in that provider's store."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from migrator.bot.runner import RunSummary
from migrator.bot.state import StateDir
from migrator.core import failpoints
from migrator.core.git import git
from migrator.core.secret import Secret
from migrator.forges.local import LocalForge
from migrator.registries import token_file
from migrator.registries import token_registry as registry
from migrator.registries.token_hashing import hash_token
from testing.outputs_support import commit_files
from testing.provider_checks import (
    PROVIDERS,
    local_ci_secrets,
    never_expiring,
    provider_problems,
    registry_text,
    seeded_providers,
    unused_store_tokens,
)
from testing.runs import migrate, run_cli
from testing.seed import create_forge

COUNT = 6  # Actions only, Actions and Azure, Azure only (one whose pipeline lacks the group)
GRACE = 6.5 * 3600


def check_forge(forge: LocalForge,
                names: list[str] | None = None) -> dict[tuple[str, str], str]:
    """Every feedstock (of `names`) correct for each provider it builds on; returns each
    (feedstock, provider)'s token."""
    secrets = local_ci_secrets(forge)
    tokens = {}
    for repo in forge.list_feedstocks():
        if repo.archived or (names is not None and repo.name not in names):
            continue
        providers = seeded_providers(forge.root, repo.name)
        assert providers
        text = registry_text(forge, repo.name)
        assert provider_problems(secrets, text, repo.name, providers) == [], repo.name
        assert unused_store_tokens(secrets, repo.name, providers) == [], repo.name
        tokens.update({(repo.name, p): secrets(repo.name, p)["FEEDSTOCK_TOKEN"]
                       for p in providers})
    assert {p for _, p in tokens} == set(PROVIDERS)  # both stores were written
    listed = git("ls-tree", "-r", "--name-only", "main", cwd=forge.git_dir(registry.REPO))
    assert "claims/" not in listed  # every claim was released
    return tokens


def concurrently(*runs: Any) -> list[Any]:
    with ThreadPoolExecutor(len(runs)) as pool:
        return [f.result() for f in [pool.submit(run) for run in runs]]


def outcomes(*summaries: RunSummary) -> dict[str, int]:
    total: dict[str, int] = {}
    for summary in summaries:
        for key, count in summary.outcomes.items():
            total[key] = total.get(key, 0) + count
    return total


def test_two_runs_with_separate_states_leave_one_token_per_provider(tmp_path: Path) -> None:
    forge = create_forge(tmp_path / "forge", count=COUNT, corpus_share=0, workers=1)
    # at the same time, in two processes (each state directory is its own run)
    args = ("run", "output-validation", "--forge", str(forge.root), "--renderer", "none",
            "--jobs", "2", "--batch-size", "2")
    first, second = concurrently(
        lambda: run_cli(*args, "--state", str(tmp_path / "a")),
        lambda: run_cli(*args, "--state", str(tmp_path / "b")))
    # a run that finds the other one provisioning a feedstock leaves it to that run
    for done in (first, second):
        assert done.returncode in (0, 1), done.stderr
        assert "Traceback" not in done.stderr
    print(first.stdout[-400:], second.stdout[-400:])
    made = check_forge(LocalForge(tmp_path / "forge"))

    # one after the other: a third state finds every provider provisioned
    after = migrate(forge, tmp_path / "c", run_id="c")
    assert after.outcomes == {"done": COUNT}
    assert check_forge(forge) == made
    # and a run of state a again (retrying what it left to b) changes nothing either
    again = migrate(forge, tmp_path / "a", run_id="a", retry_failed=True)
    assert not again.outcomes["failed"]
    assert check_forge(forge) == made


def test_two_runs_that_both_made_tokens_leave_the_feedstock_to_one(tmp_path: Path) -> None:
    """The closest overlap, made certain: both runs hold new tokens for both providers
    before either registers one. The first to register claims the feedstock; the other
    stops there and, run again later, finds it provisioned."""
    forge = create_forge(tmp_path / "forge", count=2, corpus_share=0, workers=1)
    mixed = LocalForge(forge.root).repo("pkg00001-feedstock")
    both_made = threading.Barrier(2, timeout=60)

    def hook(point: str) -> None:
        if point == "create-token@github_actions":  # the second token of each run
            both_made.wait()

    failpoints.attach(hook)
    try:
        summaries = concurrently(
            *[lambda name=name: migrate(LocalForge(forge.root), tmp_path / name,
                                        run_id=name, jobs=1, repos=[mixed])
              for name in ("a", "b")])
    finally:
        failpoints.attach(None)
    assert sorted(outcomes(*summaries).items()) == [("done", 1), ("failed", 1)]
    loser = "a" if summaries[0].outcomes["failed"] else "b"
    record = next(StateDir(tmp_path / loser, "output-validation").records())
    assert record["last_step"] == "register-hash@azure", record
    assert "another run" in record["reason"], record
    made = check_forge(forge, [mixed.name])
    again = migrate(forge, tmp_path / loser, run_id=loser, retry_failed=True, repos=[mixed])
    assert again.outcomes == {"done": 1}
    assert check_forge(forge, [mixed.name]) == made


def test_a_run_that_made_its_tokens_before_another_finished_replaces_them(
        tmp_path: Path) -> None:
    """The other order, made certain: run b made its tokens, then waits until run a has
    provisioned the feedstock and released its claims. b then registers, writes and
    verifies its own, and a's entries get the grace expiry."""
    forge = create_forge(tmp_path / "forge", count=2, corpus_share=0, workers=1)
    mixed = LocalForge(forge.root).repo("pkg00001-feedstock")
    first: list[threading.Thread] = []
    a_done = threading.Event()

    def hook(point: str) -> None:
        # each run works on the one feedstock in one worker thread, start to finish
        if point == "create-token@github_actions":
            if not first:
                first.append(threading.current_thread())
            else:
                assert a_done.wait(60)
        elif point == "switch@main" and threading.current_thread() in first:
            a_done.set()  # past expire-old: a's claims are released

    failpoints.attach(hook)
    try:
        summaries = concurrently(
            *[lambda name=name: migrate(LocalForge(forge.root), tmp_path / name,
                                        run_id=name, jobs=1, repos=[mixed])
              for name in ("a", "b")])
    finally:
        failpoints.attach(None)
    assert outcomes(*summaries) == {"done": 2} and a_done.is_set()
    states = {name: next(StateDir(tmp_path / name, "output-validation").records())
              for name in ("a", "b")}
    text = registry_text(forge, mixed.name) or ""
    salts = {e["salt"]: e for e in json.loads(text)["tokens"]}
    assert len(salts) == 4  # a's two and b's two
    check_forge(forge, [mixed.name])  # the stores hold the never-expiring entries' tokens
    live = {name: [salts[made[-1]].get("expires_at") is None
                   for made in record["token_salts"].values()]
            for name, record in states.items()}
    # the run that finished first left its tokens the grace expiry; the other's stay
    assert sorted(live.values()) == [[False, False], [True, True]], live


def test_two_rotations_at_once_leave_one_token_per_provider(tmp_path: Path) -> None:
    forge = create_forge(tmp_path / "forge", count=COUNT, corpus_share=0, workers=1)
    migrate(forge, tmp_path / "provision", run_id="provision")
    before = check_forge(forge)
    summaries = concurrently(
        *[lambda name=name: migrate(LocalForge(forge.root), tmp_path / name, "rotate-tokens",
                                    run_id=name, jobs=2, batch_size=2)
          for name in ("a", "b")])
    print(outcomes(*summaries))
    after = check_forge(forge)
    assert after.keys() == before.keys()
    # each provider was rotated by one run or the other (or both, one after the other)
    assert all(after[k] != before[k] for k in before)


def test_older_live_entries_without_a_secret_get_the_grace_expiry(tmp_path: Path) -> None:
    forge = create_forge(tmp_path / "forge", count=COUNT, corpus_share=0, workers=1)
    older = {  # entries an earlier, lost provisioning left: live, but no secret holds them
        "pkg00000-feedstock": [hash_token(Secret.new_token()),
                               hash_token(Secret.new_token(), provider="github_actions")],
        "pkg00001-feedstock": [hash_token(Secret.new_token(), provider="azure"),
                               hash_token(Secret.new_token(), provider="github_actions")],
        "pkg00005-feedstock": [hash_token(Secret.new_token(), provider="azure")],
    }
    commit_files(forge, registry.REPO, {registry.token_path(name): token_file.dump(entries)
                                        for name, entries in older.items()}, tmp_path)
    started = time.time()
    migrate(forge, tmp_path / "state", run_id="state")
    finished = time.time()
    check_forge(forge)
    for name, entries in older.items():
        stored = {e["salt"]: e for e in json.loads(registry_text(forge, name) or "")["tokens"]}
        for entry in entries:
            expiry = stored[entry.salt]["expires_at"]
            assert started + GRACE - 1 <= expiry <= finished + GRACE + 1, (name, entry)


def test_rotating_again_later_as_generation_two(tmp_path: Path) -> None:
    forge = create_forge(tmp_path / "forge", count=COUNT, corpus_share=0, workers=1)
    migrate(forge, tmp_path / "state", run_id="state")
    seen = [check_forge(forge)]
    for generation in (1, 2):
        summary = migrate(forge, tmp_path / "state", "rotate-tokens", generation=generation,
                          run_id="state")
        assert summary.outcomes == {"done": COUNT}, summary
        seen.append(check_forge(forge))
        # every provider of every feedstock has a new token
        assert all(seen[-1][k] != seen[-2][k] for k in seen[0])
    # each generation has its own state: generation 2 did not find generation 1 done
    assert sorted(p.name for p in (tmp_path / "state").iterdir()) == [
        "output-validation", "rotate-tokens", "rotate-tokens-2"]
    text = registry_text(forge, "pkg00001-feedstock") or ""
    assert len(json.loads(text)["tokens"]) == 3 * 2  # three tokens per provider so far
    assert len(never_expiring(text)) == 2

