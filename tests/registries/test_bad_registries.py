"""One bad file in a registry or the state fails one feedstock, never the run."""

from __future__ import annotations

import json
from pathlib import Path

from migrator.bot.state import StateDir
from migrator.core.secret import Secret
from migrator.forges.sealing import seal
from testing.forge_edits import commit_file
from testing.runs import migrate, run_cli


def outcomes(state: Path, migration: str = "output-validation") -> dict[str, dict]:
    return {r["feedstock"]: r for r in StateDir(state, migration).records()}


def test_a_corrupt_token_file_fails_only_its_feedstock(make_forge, tmp_path: Path) -> None:
    forge = make_forge(count=6, corpus_share=0)
    migrate(forge, tmp_path / "state")
    commit_file(forge, "feedstock-tokens", "tokens/pkg00001-feedstock.json", "{not json",
                tmp_path / "edit")
    summary = migrate(forge, tmp_path / "rotate", migration="rotate-tokens", batch_size=2)
    records = outcomes(tmp_path / "rotate", "rotate-tokens")
    assert records["pkg00001-feedstock"]["status"] == "failed"
    assert "is not valid JSON" in records["pkg00001-feedstock"]["reason"]
    assert summary.outcomes == {"done": 5, "failed": 1}  # pkg00000 shares its batch


def test_a_corrupt_outputs_entry_fails_only_its_feedstock(make_forge, tmp_path: Path) -> None:
    forge = make_forge(count=4, corpus_share=0)
    commit_file(forge, "feedstock-outputs", "outputs/p/k/g/pkg00002.json", "[[[",
                tmp_path / "edit")
    summary = migrate(forge, tmp_path / "state", batch_size=4)
    records = outcomes(tmp_path / "state")
    assert records["pkg00002-feedstock"]["status"] == "failed"
    assert records["pkg00002-feedstock"]["reason"].startswith("register-outputs: ")
    assert summary.outcomes == {"done": 3, "failed": 1}
    for name in ("pkg00000", "pkg00001", "pkg00003"):
        record = records[f"{name}-feedstock"]
        assert record["providers"]
        for provider in record["providers"]:
            assert record["steps"][f"register-hash@{provider}"]["status"] == "done"


def test_an_unreadable_state_file_is_kept_and_its_feedstock_starts_over(
        make_forge, tmp_path: Path) -> None:
    forge = make_forge(count=3, corpus_share=0)
    commit_file(forge, "feedstock-outputs", "outputs/p/k/g/pkg00002.json", "[[[",
                tmp_path / "edit")
    migrate(forge, tmp_path / "state")
    state = StateDir(tmp_path / "state", "output-validation")
    victim = forge.repo("pkg00002-feedstock")
    assert state.peek_status(victim) == "failed"
    path = next((tmp_path / "state").rglob(f"{victim.id}.json"))
    path.write_text('{"status": "done", "steps": {"x": ')  # torn by hand or a bad merge
    commit_file(forge, "feedstock-outputs", "outputs/p/k/g/pkg00002.json",
                '{"feedstocks": ["pkg00002"]}', tmp_path / "fix")
    again = migrate(forge, tmp_path / "state", retry_failed=True)
    reasons = {r["feedstock"]: r.get("reason") for r in state.records()}
    assert again.outcomes == {"done": 1} and again.untouched == {"done": 2}, reasons
    assert StateDir(tmp_path / "state", "output-validation").peek_status(victim) == "done"
    assert list(path.parent.glob(f"{victim.id}.json.unreadable-*"))  # kept for a person
    status = run_cli("status", "output-validation", "--forge", str(forge.root), "--state",
                     str(tmp_path / "state"), "--json", check=True)
    assert json.loads(status.stdout)["totals"]["done"] == 3


def test_staging_token_for_private_repositories_only_is_refused(make_forge,
                                                                tmp_path: Path) -> None:
    forge = make_forge(count=2, corpus_share=0)
    key = forge.org_public_key()
    forge.put_org_secret("STAGING_BINSTAR_TOKEN", seal(key, Secret.new_token()), key.key_id,
                         visibility="private")
    migrate(forge, tmp_path / "state")
    for record in outcomes(tmp_path / "state").values():
        assert record["status"] == "failed"
        assert "limited to private repositories" in record["reason"]
        assert record["steps"].get("switch@main") is None  # not switched over
