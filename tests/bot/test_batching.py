"""Batched steps that follow each other share one flush when they write to different
registries; a registry's refusal fails its own step only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from migrator.bot.migrations.model import Migration, Refusals, Step
from migrator.bot.runner import run_migration
from migrator.bot.state import DONE, FAILED, StateDir
from migrator.bot.task import FeedstockTask, Options, RunContext
from migrator.forges import RepoInfo
from testing.seed import create_forge

REPOS = [RepoInfo(7000 + i, f"pkg{i}-feedstock", "main", False) for i in range(3)]


class Registries:
    """Two registries in memory: what each flush carried, and whom they refuse."""

    def __init__(self, refuse: dict[str, set[str]] | None = None) -> None:
        self.staged: dict[str, list[str]] = {"tokens": [], "outputs": []}
        self.flushes: list[dict[str, list[str]]] = []
        self.refuse = refuse or {}

    def stage(self, registry: str) -> Any:
        def run(task: FeedstockTask[Any, Any]) -> str:
            self.staged[registry].append(task.repo.name)
            return f"staged for {registry}"
        return run

    def flush(self, context: RunContext[Any]) -> Refusals:
        carried = {k: sorted(v) for k, v in self.staged.items() if v}
        self.flushes.append(carried)
        self.staged = {"tokens": [], "outputs": []}
        return {registry: {name: f"{registry} says no" for name in names
                           if name in self.refuse.get(registry, set())}
                for registry, names in carried.items()}


def migration(registries: Registries) -> Migration[None, None]:
    return Migration(
        name="batching",
        steps=(
            Step("register", registries.stage("tokens"), batched=True, writes="tokens"),
            Step("check", lambda task: "ok"),
            Step("expire", registries.stage("tokens"), batched=True, writes="tokens"),
            Step("claim", registries.stage("outputs"), batched=True, writes="outputs"),
            Step("again", registries.stage("tokens"), batched=True, writes="tokens"),
            Step("switch", lambda task: "switched"),
        ),
        run_data=lambda: None, feedstock_data=lambda: None, flush=registries.flush)


def run(tmp_path: Path, registries: Registries) -> dict[str, dict[str, Any]]:
    forge = create_forge(tmp_path / "forge", count=0, corpus_share=0, workers=1)
    state = StateDir(tmp_path / "state", "batching")
    run_migration(forge, migration(registries), state, Options(jobs=2), repos=REPOS)
    return {repo.name: state.load(repo).data for repo in REPOS}


def test_steps_for_different_registries_share_a_flush(tmp_path: Path) -> None:
    registries = Registries()
    records = run(tmp_path, registries)
    names = [repo.name for repo in REPOS]
    assert registries.flushes == [
        {"tokens": names},  # register
        {"tokens": names, "outputs": names},  # expire and claim together
        {"tokens": names},  # again: the tokens registry is taken in that round
    ]
    for record in records.values():
        assert record["status"] == DONE
        assert all(step["status"] == DONE for step in record["steps"].values())


def test_a_refusal_fails_the_step_of_its_registry_only(tmp_path: Path) -> None:
    registries = Registries(refuse={"outputs": {"pkg1-feedstock"}})
    records = run(tmp_path, registries)
    refused = records["pkg1-feedstock"]
    assert refused["status"] == FAILED
    assert refused["steps"]["expire"]["status"] == DONE  # its registry took it
    assert refused["steps"]["claim"] == {**refused["steps"]["claim"], "status": FAILED,
                                         "detail": "outputs says no"}
    assert "again" not in refused["steps"] and "switch" not in refused["steps"]
    assert refused["reason"] == "claim: outputs says no"
    assert records["pkg0-feedstock"]["status"] == DONE
    assert len(registries.flushes) == 3 and "pkg1-feedstock" not in registries.flushes[2][
        "tokens"]
