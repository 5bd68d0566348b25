"""A token for every CI provider, end to end on the embedded default: after the migration,
each provider's CI job can publish with the token its own store gives it, and only for
that provider; and a run SIGKILLed at any step boundary of any provider resumes to the
same result, with no token anywhere on disk or in what the runs printed."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from migrator.bot.state import StateDir
from migrator.core.git import git
from migrator.core.secret import Secret
from migrator.feedstock import cfyml
from migrator.forges.local import LocalForge
from migrator.forges.local_pipelines import LocalPipelines
from migrator.registries import token_file
from migrator.registries.token_hashing import Entry, hash_token
from migrator.service import local_setup
from migrator.service.server import start_server
from testing.leakscan import scan
from testing.outputs_support import stage
from testing.provider_checks import (
    PROVIDERS,
    local_ci_secrets,
    provider_problems,
    registry_text,
    seeded_providers,
    token_problems,
    unused_store_tokens,
)
from testing.runs import migrate, run_cli
from testing.seed import create_forge

MIXED = "pkg00001-feedstock"  # builds on Azure and GitHub Actions
# every step boundary of both providers of a feedstock that builds on both (providers in
# order: azure, github_actions), and of the steps around them; a batched step is killed
# once staged, once its batch is pushed (the n-th flush) and once recorded
# (tests/bot/test_crash.py kills the later steps, which run once per feedstock)
KILL_POINTS = [
    "detect-providers:1", "check-renderable:1",
    "create-token:1", "create-token:2",
    "register-hash.staged:1", "flush:1", "register-hash:1",
    "register-hash.staged:2", "flush:2", "register-hash:2",
    "write-secret:1", "write-secret:2", "staging-access:1", "staging-access:2",
    "verify-token:1", "verify-token:2",
    "expire-old.staged:1", "flush:3", "expire-old:1",
]


def copy_request(url: str, body: dict[str, Any], token: str) -> tuple[int, dict[str, Any]]:
    """What CI sends: the synchronous copy request with the FEEDSTOCK_TOKEN header."""
    req = urllib.request.Request(f"{url}/feedstock-outputs/copy", method="POST",
                                 data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json",
                                          "FEEDSTOCK_TOKEN": token})
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_each_provider_publishes_with_its_own_token_and_no_other(tmp_path: Path) -> None:
    forge = create_forge(tmp_path / "forge", count=6, corpus_share=0, workers=1)
    pipelines = LocalPipelines(forge.root / "azure")
    assert pipelines.pipeline("pkg00004-feedstock").groups == ()  # linked by the run
    summary = migrate(forge, tmp_path / "state", renderer="patch")
    assert summary.outcomes["done"] == 6, summary
    secrets = local_ci_secrets(forge)
    service = local_setup.local_service(forge, forge_root=forge.root, lock_timeout=30)
    # Actions only, both, Azure only, and Azure only whose pipeline lacked the staging group
    chosen = ["pkg00000-feedstock", MIXED, "pkg00005-feedstock", "pkg00004-feedstock"]
    kinds = {name: seeded_providers(forge.root, name) or frozenset() for name in chosen}
    assert set(kinds.values()) == {frozenset({"github_actions"}), frozenset(PROVIDERS),
                                   frozenset({"azure"})}
    accepted, refused = [], []
    with start_server(service) as server:
        for name in chosen:
            providers = kinds[name]
            assert provider_problems(secrets, registry_text(forge, name), name,
                                     providers) == [], name
            assert unused_store_tokens(secrets, name, providers) == [], name
            sha = git("rev-parse", "main", cwd=forge.git_dir(name)).strip()
            package = name.removesuffix("-feedstock")
            for number, provider in enumerate(sorted(providers)):
                given = secrets(name, provider)
                assert "STAGING_BINSTAR_TOKEN" in given  # its jobs can upload to staging
                token = given["FEEDSTOCK_TOKEN"]
                dist, digest = stage(service, tmp_path / name / provider, name=package,
                                     version=f"1.0.{number}")
                body = {"feedstock": name, "outputs": {dist.key: digest}, "channel": "main",
                        "git_sha": sha, "hash_type": "sha256", "provider": provider,
                        "comment_on_error": True}
                # the same token from a job of a provider it was not made for is refused,
                # whether or not the feedstock builds there too
                other = next(p for p in PROVIDERS if p != provider)
                status, answer = copy_request(server.url, {**body, "provider": other}, token)
                assert status == 403, answer
                assert answer["error"]["result"] == "provider_mismatch", answer
                refused.append((name, provider, other))
                status, answer = copy_request(server.url, body, token)
                assert (status, answer["copied"]) == (200, {dist.key: True}), answer
                accepted.append((name, provider))
    assert sorted(accepted) == sorted((n, p) for n in chosen for p in kinds[n])
    assert len(refused) == len(accepted) == 5


def mixed_feedstocks(forge: LocalForge) -> list[str]:
    return [r.name for r in forge.list_feedstocks()
            if not r.archived and seeded_providers(forge.root, r.name) == set(PROVIDERS)]


@pytest.mark.parametrize("points", [KILL_POINTS[::2], KILL_POINTS[1::2]],
                         ids=["even", "odd"])
def test_killed_at_any_provider_step_resumes_to_working_tokens(tmp_path: Path,
                                                               points: list[str]) -> None:
    """Each kill point gets its own feedstock: a run of that feedstock alone is SIGKILLed
    there, then one run resumes them all at once."""
    work = tmp_path / "work"
    work.mkdir()
    token_log = tmp_path / "tokens.txt"  # outside every scanned folder
    forge = create_forge(work / "forge", count=10 * len(points), corpus_share=0, workers=1)
    names = mixed_feedstocks(forge)[:len(points)]
    assert len(names) == len(points)
    args = ("run", "output-validation", "--forge", str(forge.root), "--state",
            str(work / "state"), "--jobs", "1", "--renderer", "patch")
    env = {"TMPDIR": str(work)}
    texts = []
    for name, point in zip(names, points, strict=True):
        killed = run_cli(*args, "--only", name, env={**env, "MIGRATOR_KILL_AT": point},
                         token_log=token_log)
        assert killed.returncode == -9, (point, killed.stdout + killed.stderr)
        texts += [killed.stdout, killed.stderr]
    resumed = run_cli(*args, "--only", *names, env=env, token_log=token_log)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    texts += [resumed.stdout, resumed.stderr]

    forge = LocalForge(work / "forge")
    secrets = local_ci_secrets(forge)
    state = StateDir(work / "state", "output-validation")
    for name, point in zip(names, points, strict=True):
        # both providers' tokens verify for their provider (the independent
        # implementation), each is its provider's one never-expiring entry; a token lost
        # with the killed process is left only with an expiry
        text = registry_text(forge, name)
        assert provider_problems(secrets, text, name, PROVIDERS) == [], point
        record = state.load(forge.repo(name)).data
        assert record["status"] == "done" and record["providers"] == list(PROVIDERS), point
        assert {k for k in record["steps"] if k.partition("@")[2] in PROVIDERS} == {
            f"{s}@{p}" for s in ("create-token", "register-hash", "write-secret",
                                 "staging-access", "verify-token") for p in PROVIDERS}, point
        subjects = git("log", "--format=%s", cwd=forge.git_dir(name)).splitlines()
        first = git("rev-list", "--max-parents=0", "main", cwd=forge.git_dir(name)).strip()
        seeded = git("show", f"{first}:conda-forge.yml", cwd=forge.git_dir(name))
        # the config and rerender commits, unless the seed validated already
        assert len(subjects) == (1 if cfyml.is_enabled(seeded) else 3), (point, subjects)
    listed = git("ls-tree", "-r", "--name-only", "main",
                 cwd=forge.git_dir("feedstock-tokens"))
    assert "claims/" not in listed  # every claim was released

    tokens = token_log.read_text().split()
    assert len(tokens) >= 2 * len(points)
    assert scan(tokens, trees=[work], texts=texts) == []  # the Azure store's files too


def test_the_scan_finds_a_token_in_the_azure_store(tmp_path: Path) -> None:
    """The control for the scans above: a token planted in the local Azure store's files
    is found there, and the store itself keeps only sealed values."""
    forge = create_forge(tmp_path / "forge", count=2, corpus_share=0, workers=1)
    migrate(forge, tmp_path / "state", renderer="none")
    secrets = local_ci_secrets(forge)
    created = [secrets(MIXED, p)["FEEDSTOCK_TOKEN"] for p in PROVIDERS]
    assert scan(created, trees=[tmp_path]) == []
    planted = forge.root / "azure" / "pipelines" / "planted.json"
    planted.write_text(json.dumps({"value": created[0]}))
    assert scan(created, trees=[tmp_path]) == [f"file {planted}"]


def test_the_provider_check_finds_what_it_looks_for() -> None:
    """The control for `provider_problems`: each way a provider can be left wrong."""
    tokens = {p: Secret.new_token() for p in PROVIDERS}
    entries = {p: hash_token(t, provider=p) for p, t in tokens.items()}
    plain = {p: t.reveal() for p, t in tokens.items()}

    def problems(*found: Entry, given: Mapping[str, str | None] = plain) -> list[str]:
        return token_problems(token_file.dump(list(found), now=0.0), given, PROVIDERS)

    assert problems(*entries.values()) == []
    assert problems(entries["azure"]) == ["github_actions: 0 never-expiring entries, not one"]
    assert problems(*entries.values(), given={**plain, "azure": None}) == [
        "azure: no FEEDSTOCK_TOKEN in its store"]
    swapped = {"azure": plain["github_actions"], "github_actions": plain["azure"]}
    assert problems(*entries.values(), given=swapped) == [
        f"{p}: the never-expiring entry is not its token's (the token does not verify)"
        for p in PROVIDERS]
    older = hash_token(Secret.new_token(), provider="azure")
    assert problems(older, *entries.values()) == ["azure: 2 never-expiring entries, not one"]
    shared = hash_token(Secret.new_token())  # names no provider
    assert problems(shared, *entries.values()) == [
        "never-expiring entries of providers not built on: [None]"]
    assert token_problems(None, plain, PROVIDERS) == ["no registry file"]
