from __future__ import annotations

import json
import pickle
import re
import time
from pathlib import Path

import pytest

from migrator.core.git import git
from migrator.core.secret import Secret
from migrator.forges.local import LocalForge
from migrator.forges.local_pipelines import LocalPipelines
from migrator.registries import token_file as registry_file
from migrator.registries import token_registry as registry
from migrator.registries.token_hashing import Entry, hash_token
from migrator.registries.token_registry import Change, RegistryWriter
from migrator.registries.token_verify import verify
from testing.runs import migrate, provider_tokens, providers_of, run_cli
from testing.tokens_support import independent_hash, independent_verify


def registry_text(forge: LocalForge, feedstock: str) -> str:
    raw = forge.read_file(registry.REPO, registry.token_path(feedstock))
    assert raw is not None, feedstock
    return raw.decode()


def test_token_and_hash_have_the_documented_shape() -> None:
    token = Secret.new_token()
    assert re.fullmatch(r"[0-9a-f]{64}", token.reveal())
    entry = hash_token(token, provider="github_actions")
    assert re.fullmatch(r"[0-9a-f]{128}", entry.salt)
    assert re.fullmatch(r"[0-9a-f]{512}", entry.hashed_token)
    assert entry.hashed_token == independent_hash(token.reveal(),
                                                  bytes.fromhex(entry.salt))["hashed_token"]


def test_secret_never_shows_itself() -> None:
    token = Secret.new_token()
    value = token.reveal()
    for shown in (repr(token), str(token), f"{token}", f"{token!r}", str([token])):
        assert value not in shown and "****" in shown
    with pytest.raises(TypeError):
        json.dumps({"token": token})
    with pytest.raises(TypeError):
        pickle.dumps(token)


def test_liveness_rules() -> None:
    token = Secret.new_token()
    now = time.time()
    live = hash_token(token)
    other_provider = hash_token(token, provider="azure")
    expired = hash_token(token, expires_at=now - 1)
    future = hash_token(token, expires_at=now + 60)
    assert verify(token, [live], provider="github_actions")
    assert not verify(token, [other_provider], provider="github_actions")
    assert verify(token, [other_provider], provider="azure")
    assert not verify(token, [expired])
    assert verify(token, [future]) and not verify(token, [future], now=now + 61)
    assert verify(token, [expired, other_provider, live], provider="github_actions")
    assert not verify(Secret.new_token(), [live])
    assert not verify(token, [Entry("zz-not-hex", "00")])


def test_project_files_verify_with_independent_code() -> None:
    token = Secret.new_token()
    text = registry_file.dump([hash_token(token, provider="github_actions")])
    assert list(json.loads(text)) == ["tokens"]
    assert independent_verify(token.reveal(), text)
    assert not independent_verify(Secret.new_token().reveal(), text)


def test_independent_files_verify_with_the_project_legacy_form_included() -> None:
    plain = Secret.new_token()
    legacy = json.dumps(independent_hash(plain.reveal()))
    assert verify(plain, registry_file.parse(legacy, where="legacy"))
    listed = json.dumps({"tokens": [dict(independent_hash(plain.reveal()),
                                         provider="github_actions",
                                         expires_at=time.time() + 3600)]})
    assert verify(plain, registry_file.parse(listed, where="listed"), provider="github_actions")
    # a legacy file is rewritten in the list form
    rewritten = registry_file.dump(registry_file.parse(legacy, where="legacy"))
    assert "tokens" in json.loads(rewritten) and independent_verify(plain.reveal(), rewritten)


def test_rewriting_drops_expired_entries() -> None:
    keep = hash_token(Secret.new_token())
    gone = hash_token(Secret.new_token(), expires_at=time.time() - 5)
    assert json.loads(registry_file.dump([keep, gone]))["tokens"] == [keep.to_json()]


@pytest.mark.parametrize("text", ["not json", "[]", '{"tokens": 3}', '{"tokens": [{"x": 1}]}'])
def test_bad_registry_files_have_clear_errors(text: str) -> None:
    from migrator.core.errors import MigratorError

    with pytest.raises(MigratorError, match="tokens/x.json"):
        registry_file.parse(text, where="tokens/x.json")


def test_migration_leaves_each_feedstock_one_verified_secret(make_forge, tmp_path: Path,
                                                             tokens_created) -> None:
    forge = make_forge(count=8, corpus_share=0)
    migrate(forge, tmp_path / "state", batch_size=3)
    made = 0
    for repo in forge.list_feedstocks():
        if repo.archived:
            continue
        providers = providers_of(tmp_path / "state", repo)
        tokens = provider_tokens(forge, repo)
        assert sorted(tokens) == providers, repo.name  # a secret in exactly those stores
        text = registry_text(forge, repo.name)
        entries = json.loads(text)["tokens"]
        assert sorted(e["provider"] for e in entries) == providers
        for provider, token in tokens.items():
            assert independent_verify(token, text, provider=provider), (repo.name, provider)
            other = ({"azure", "github_actions"} - {provider}).pop()
            if other not in providers:
                assert not independent_verify(token, text, provider=other)
        made += len(providers)
        if "github_actions" in providers:
            assert len(forge.ci_secrets(repo)["STAGING_BINSTAR_TOKEN"]) == 64
        if "azure" in providers:
            staging = LocalPipelines(forge.root / "azure").ci_secrets(repo.name)
            assert "STAGING_BINSTAR_TOKEN" in staging
    assert made > 7  # some feedstocks build on both providers
    # registry writes are batched: one commit per batch of registrations and expiries,
    # not one per feedstock and provider
    subjects = git("log", "--format=%s", cwd=forge.git_dir(registry.REPO)).splitlines()
    assert len([s for s in subjects if "update feedstock tokens" in s]) < made
    # one per feedstock and provider, and the staging token the seeder put in Azure's group
    assert len(tokens_created) == made + 1


def test_two_writers_never_lose_each_others_entries(make_forge, tmp_path: Path) -> None:
    forge = make_forge(count=1)
    first = RegistryWriter(forge, tmp_path)
    second = RegistryWriter(forge, tmp_path)
    a, b = hash_token(Secret.new_token()), hash_token(Secret.new_token())
    first.entries("x-feedstock")  # both clone the same tip before either pushes
    second.entries("x-feedstock")
    first.stage(Change("x-feedstock", add=(a,)))
    second.stage(Change("x-feedstock", add=(b,)))
    second.stage(Change("y-feedstock", add=(b,)))
    first.flush()
    second.flush()  # loses the race, replays its changes on top of the first
    salts = [e["salt"] for e in json.loads(registry_text(forge, "x-feedstock"))["tokens"]]
    assert salts == [a.salt, b.salt]
    assert json.loads(registry_text(forge, "y-feedstock"))["tokens"][0]["salt"] == b.salt


def test_rotation_keeps_old_token_through_grace(make_forge, tmp_path: Path) -> None:
    forge = make_forge(count=3, corpus_share=0)
    migrate(forge, tmp_path / "state")
    repo = forge.list_feedstocks()[0]
    old = provider_tokens(forge, repo)
    started = time.time()
    migrate(forge, tmp_path / "state", migration="rotate-tokens", grace_seconds=3600)
    new = provider_tokens(forge, repo)
    assert sorted(new) == sorted(old)
    text = registry_text(forge, repo.name)
    later = started + 3600 + 60
    for provider in old:
        assert new[provider] != old[provider]
        assert independent_verify(old[provider], text, provider=provider)
        assert independent_verify(new[provider], text, provider=provider)
        assert not independent_verify(old[provider], text, provider=provider, now=later)
        assert independent_verify(new[provider], text, provider=provider, now=later)
    entries = json.loads(text)["tokens"]
    assert [e.get("expires_at") is None for e in entries] == [False] * len(old) + \
        [True] * len(old)


def test_rotation_that_fails_before_expiry_leaves_old_token_working(
    make_forge, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    forge = make_forge(count=2, corpus_share=0)
    migrate(forge, tmp_path / "state")
    repos = [r for r in forge.list_feedstocks() if not r.archived]
    old = {r.name: provider_tokens(forge, r) for r in repos}

    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        from migrator.core.errors import MigratorError

        raise MigratorError("secret store unavailable")

    monkeypatch.setattr(LocalForge, "put_repo_secret", refuse)
    monkeypatch.setattr(LocalPipelines, "write_feedstock_token", refuse)
    summary = migrate(forge, tmp_path / "state", migration="rotate-tokens")
    assert summary.outcomes["failed"] == len(repos)
    for repo in repos:
        assert provider_tokens(forge, repo) == old[repo.name]
        for provider, token in old[repo.name].items():
            assert independent_verify(token, registry_text(forge, repo.name),
                                      provider=provider, now=time.time() + 10 ** 6)


def test_already_provisioned_feedstocks_keep_their_token(make_forge, tmp_path: Path) -> None:
    forge = make_forge(count=2, corpus_share=0)
    migrate(forge, tmp_path / "state")
    repo = forge.list_feedstocks()[0]
    tokens = provider_tokens(forge, repo)
    summary = migrate(forge, tmp_path / "other-state")
    assert summary.outcomes["done"] == 2
    assert provider_tokens(forge, repo) == tokens
    record = json.loads(next((tmp_path / "other-state").rglob(f"{repo.id}.json")).read_text())
    for provider in tokens:
        step = record["steps"][f"create-token@{provider}"]
        assert step["status"] == "skipped" and "already provisioned" in step["detail"]
    assert record["steps"]["expire-old"]["status"] == "skipped"


def test_tokens_verify_reads_env_or_stdin_never_argv(make_forge, tmp_path: Path) -> None:
    forge = make_forge(count=2, corpus_share=0)
    migrate(forge, tmp_path / "state")
    repo = next(r for r in forge.list_feedstocks()
                if "github_actions" in providers_of(tmp_path / "state", r))
    token = forge.ci_secrets(repo)["FEEDSTOCK_TOKEN"]
    args = ("tokens", "verify", repo.name.removesuffix("-feedstock"), "--forge", str(forge.root))
    by_env = run_cli(*args, env={"FEEDSTOCK_TOKEN": token})
    assert by_env.returncode == 0 and "is valid" in by_env.stdout
    assert token not in by_env.stdout + by_env.stderr
    import subprocess
    import sys

    from testing.runs import HARNESS, ROOT

    env = {k: v for k, v in __import__("os").environ.items() if k != "FEEDSTOCK_TOKEN"}
    env["PYTHONPATH"] = f"{HARNESS}:{ROOT}"
    by_stdin = subprocess.run([sys.executable, "-m", "migrator", *args], input=token + "\n",
                              capture_output=True, text=True, env=env)
    assert by_stdin.returncode == 0, by_stdin.stderr
    wrong = run_cli(*args, env={"FEEDSTOCK_TOKEN": "0" * 64})
    assert wrong.returncode == 1 and "NOT valid" in wrong.stdout
    status = run_cli("tokens", "status", "--forge", str(forge.root), "--json", check=True)
    rows = json.loads(status.stdout)
    assert {r["feedstock"] for r in rows} == {r.name for r in forge.list_feedstocks()}
    assert all(r["live"] == len(providers_of(tmp_path / "state", forge.repo(r["feedstock"])))
               for r in rows)


def test_staging_token_is_one_org_secret_for_selected_feedstocks(make_forge,
                                                                 tmp_path: Path) -> None:
    forge = make_forge(count=8, corpus_share=0)
    writes: list[str] = []

    class Counting(LocalForge):
        def put_org_secret(self, name, *args, **kwargs):  # type: ignore[no-untyped-def]
            writes.append(f"put {name}")
            super().put_org_secret(name, *args, **kwargs)

        def add_org_secret_repo(self, name, repo):  # type: ignore[no-untyped-def]
            writes.append(f"add {name}")
            super().add_org_secret_repo(name, repo)

    counting = Counting(forge.root)
    repos = counting.list_feedstocks()
    migrate(counting, tmp_path / "state")
    assert writes == ["put STAGING_BINSTAR_TOKEN"]  # one write for every feedstock
    info = forge.org_secret("STAGING_BINSTAR_TOKEN")
    assert info is not None and info.visibility == "selected"
    assert info.selected_repository_ids == {r.id for r in repos if not r.archived}
    archived = next(r for r in repos if r.archived)
    assert "STAGING_BINSTAR_TOKEN" not in forge.ci_secrets(archived)
    # a feedstock unarchived later is added on its own, with a call that only adds
    forge.set_archived(archived.name, False)
    writes.clear()
    migrate(Counting(forge.root), tmp_path / "state2")
    assert writes == ["add STAGING_BINSTAR_TOKEN"]
    assert "STAGING_BINSTAR_TOKEN" in LocalForge(forge.root).ci_secrets(archived)


def test_the_first_shard_selects_every_feedstock_for_the_staging_token(
    make_forge, tmp_path: Path,
) -> None:
    forge = make_forge(count=6, corpus_share=0)
    first = [r for r in forge.list_feedstocks() if not r.archived][:2]
    migrate(forge, tmp_path / "state", repos=first)
    info = forge.org_secret("STAGING_BINSTAR_TOKEN")
    assert info is not None
    assert info.selected_repository_ids == {r.id for r in forge.list_feedstocks()
                                            if not r.archived}


def test_verify_refuses_a_registry_that_does_not_hold_the_new_hash(
    make_forge, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    forge = make_forge(count=2, corpus_share=0)
    original = RegistryWriter.entries

    def tampered(self, feedstock):  # type: ignore[no-untyped-def]
        return [e._replace(hashed_token="0" * 512) for e in original(self, feedstock)]

    monkeypatch.setattr(RegistryWriter, "entries", tampered)
    summary = migrate(forge, tmp_path / "state")
    assert summary.outcomes == {"failed": 2}
    for path in (tmp_path / "state").rglob("[0-9]*.json"):
        record = json.loads(path.read_text())
        provider = record["providers"][0]
        assert record["reason"] == (f"verify-token@{provider}: the registry has no live "
                                    f"{provider} entry matching the new token")
        assert record["reason_code"] == "step"
        assert "switch@main" not in record["steps"]


def test_a_change_carrying_token_material_is_never_pushed(make_forge, tmp_path: Path) -> None:
    from migrator.core.errors import MigratorError
    from migrator.forges.publish import Commit, publish_commits
    from migrator.forges.scratch import ForgeScratch, ScratchPool

    forge = make_forge(count=1, corpus_share=0)
    repo = forge.list_feedstocks()[0]
    token = Secret.new_token()
    before = git("rev-parse", "main", cwd=forge.git_dir(repo.name))
    in_a_file = Commit(lambda files: {"recipe/build.sh": f"export T={token.reveal()}\n".encode()},
                       "harmless message")
    in_the_message = Commit(lambda files: {"x": b"x"}, f"oops {token.reveal()}")
    harmless = Commit(lambda files: {"y": b"y"}, "harmless")
    for series in ([in_a_file], [harmless, in_the_message]):
        scratch = ForgeScratch(forge, repo.name, ScratchPool(tmp_path).take())
        with pytest.raises(MigratorError) as info:
            publish_commits(scratch, branch="main", commits=series, secrets=[token])
        assert str(info.value) == "refused to push: the change contains token material"
        assert token.reveal() not in str(info.value)
    assert git("rev-parse", "main", cwd=forge.git_dir(repo.name)) == before
