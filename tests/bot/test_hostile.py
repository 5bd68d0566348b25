"""Hostile feedstocks cannot hurt the bot: each fails with its reason, the others in the
same run finish, nothing outside the working copies and the repositories the bot pushes
to changes, and no command hidden in a branch name runs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from migrator.bot import migrations
from migrator.bot.migrations.model import Migration, Step
from migrator.bot.runner import run_migration
from migrator.bot.state import StateDir
from migrator.bot.task import FeedstockTask, Options
from migrator.core import deadline
from migrator.core.git import git
from migrator.forges.local import LocalForge
from testing.forge_edits import commit_file
from testing.hostile import (
    TreeMemory,
    add_branch,
    commit_symlink,
    surroundings,
    upload_pack_branch,
)
from testing.runs import local_stores, migrate

CONFIG_SUBJECT = "[ci skip] [skip ci] [cf admin skip] ***NO_CI*** enable output validation"
# what a run legitimately changes beside the feedstocks it pushes to
LEGIT = ("git/feedstock-tokens.git", "git/feedstock-outputs.git", "secrets/", "azure/",
         ".repos.lock")


def records(state: Path) -> dict[str, dict[str, Any]]:
    return {r["feedstock"]: r for r in StateDir(state, "output-validation").records()}


def pushed_to(*names: str) -> tuple[str, ...]:
    return LEGIT + tuple(f"git/{n}.git" for n in names)


def assert_others_done(forge: LocalForge, found: dict[str, dict[str, Any]],
                       hostile: set[str]) -> None:
    for repo in forge.list_feedstocks():
        if repo.name not in hostile:
            expected = "skipped" if repo.archived else "done"
            assert found[repo.name]["status"] == expected, found[repo.name]


@pytest.mark.parametrize("renderer", ["patch", "none"])
def test_a_symlinked_config_rewrites_nothing_it_points_at(
        make_forge, tmp_path: Path, renderer: str) -> None:
    forge = make_forge(count=5, corpus_share=0)
    decoy = tmp_path / "decoy.yml"
    decoy.write_text("bot:\n  automerge: true\n")
    scratch = tmp_path / "scratch"
    commit_symlink(forge, "pkg00000-feedstock", "conda-forge.yml", decoy, scratch)
    commit_symlink(forge, "pkg00001-feedstock", "conda-forge.yml", forge.root / "forge.json",
                   scratch)
    # on a maintenance branch, read only by the branch's own config step
    commit_symlink(forge, "pkg00003-feedstock", "conda-forge.yml", decoy, scratch,
                   branch="v1.x")
    v1_tip = git("rev-parse", "v1.x", cwd=forge.git_dir("pkg00003-feedstock"))
    skip = pushed_to("pkg00002-feedstock", "pkg00003-feedstock", "pkg00004-feedstock")
    before, decoy_before = surroundings(forge.root, skip=skip), surroundings(decoy)

    migrate(forge, tmp_path / "state", renderer=renderer, all_branches=True)

    found = records(tmp_path / "state")
    for name, step in (("pkg00000-feedstock", "check-config"),
                       ("pkg00001-feedstock", "check-config"),
                       ("pkg00003-feedstock", "switch@v1.x")):
        assert found[name]["status"] == "failed", found[name]
        assert found[name]["reason"] == f"{step}: conda-forge.yml: is a symlink, not a regular file"
    assert_others_done(forge, found, {"pkg00000-feedstock", "pkg00001-feedstock",
                                      "pkg00003-feedstock"})
    assert surroundings(forge.root, skip=skip) == before  # forge.json and both repos too
    assert surroundings(decoy) == decoy_before
    assert git("rev-parse", "v1.x", cwd=forge.git_dir("pkg00003-feedstock")) == v1_tip


def test_a_symlinked_recipe_leaks_no_name_from_outside(make_forge, tmp_path: Path) -> None:
    forge = make_forge(count=4, corpus_share=0)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "meta.yaml").write_text("package:\n  name: secret-name-from-the-runner\n"
                                       "  version: 1\n")
    commit_symlink(forge, "pkg00001-feedstock", "recipe", outside, tmp_path / "scratch")
    skip = pushed_to(*(f"pkg0000{i}-feedstock" for i in (0, 2, 3)))
    before, outside_before = surroundings(forge.root, skip=skip), surroundings(outside)

    migrate(forge, tmp_path / "state", renderer="patch")

    found = records(tmp_path / "state")
    hostile = found["pkg00001-feedstock"]
    assert hostile["status"] == "failed"
    assert hostile["reason"] == ("register-outputs: recipe/meta.yaml: recipe is a symlink "
                                 "or not a directory")
    assert_others_done(forge, found, {"pkg00001-feedstock"})
    registry = git("log", "--all", "-p", cwd=forge.git_dir("feedstock-outputs"))
    assert "pkg00000" in registry and "secret-name" not in registry
    state_text = "".join(p.read_text() for p in (tmp_path / "state").rglob("*.json"))
    assert "secret-name" not in state_text
    assert surroundings(forge.root, skip=skip) == before
    assert surroundings(outside) == outside_before


def test_a_symlinked_build_script_is_not_followed(make_forge, tmp_path: Path) -> None:
    forge = make_forge(count=4, corpus_share=0)
    decoy = tmp_path / "runner-script.sh"
    decoy.write_text("#!/bin/bash\nupload_package ./build_artifacts\n")
    commit_symlink(forge, "pkg00002-feedstock", ".scripts/build_steps.sh", decoy,
                   tmp_path / "scratch")
    skip = pushed_to(*(f"pkg0000{i}-feedstock" for i in (0, 1, 3)))
    before, decoy_before = surroundings(forge.root, skip=skip), surroundings(decoy)

    migrate(forge, tmp_path / "state", renderer="patch")

    found = records(tmp_path / "state")
    assert found["pkg00002-feedstock"]["status"] == "failed"
    assert found["pkg00002-feedstock"]["reason"] == (
        "detect-providers: .scripts/build_steps.sh: is a symlink, not a regular file")
    assert_others_done(forge, found, {"pkg00002-feedstock"})
    assert surroundings(forge.root, skip=skip) == before
    assert surroundings(decoy) == decoy_before


class RacingForge(LocalForge):
    """A maintainer pushes to each branch just before the bot's first push to it."""

    def __init__(self, root: Path, scratch: Path) -> None:
        super().__init__(root)
        self.scratch, self.raced = scratch, set[tuple[str, str]]()

    def push(self, workdir: Path, repo: str, branch: str) -> None:
        if repo.endswith("-feedstock") and (repo, branch) not in self.raced:
            self.raced.add((repo, branch))
            other = self.scratch / f"{repo}-{len(self.raced)}"
            git("clone", "-q", f"--branch={branch}", "--", str(self.git_dir(repo)), str(other))
            (other / "README.md").write_text("maintainer edit\n")
            git("commit", "-qam", "maintainer edit", cwd=other)
            git("push", "-q", "origin", f"HEAD:refs/heads/{branch}", cwd=other)
        super().push(workdir, repo, branch)


def test_a_branch_named_like_an_option_runs_nothing(make_forge, tmp_path: Path) -> None:
    forge = make_forge(count=5, corpus_share=0)
    marker = tmp_path / "command-ran"
    hostile = upload_pack_branch(marker)
    add_branch(forge, "pkg00001-feedstock", hostile)  # a maintenance branch
    add_branch(forge, "pkg00002-feedstock", hostile)  # and the default branch, as GitHub says
    forge._update_repo("pkg00002-feedstock", default_branch=hostile)
    skip = pushed_to(*(f"pkg0000{i}-feedstock" for i in (0, 3, 4)))
    before = surroundings(forge.root, skip=skip)

    racing = RacingForge(forge.root, tmp_path / "maintainers")
    migrate(racing, tmp_path / "state", renderer="patch", all_branches=True)

    assert not marker.exists()
    found = records(tmp_path / "state")
    for name in ("pkg00001-feedstock", "pkg00002-feedstock"):
        failed = found[name]
        assert (failed["status"], failed["reason_code"]) == ("failed", "bad-branch")
        assert failed["reason"] == (f"list-branches: could not list branches: branch "
                                    f"{hostile!r} of {name} is refused: it starts with '-'")
    assert_others_done(forge, found, {"pkg00001-feedstock", "pkg00002-feedstock"})
    assert found["pkg00003-feedstock"]["branches"] == ["main", "v1.x"]
    for branch in ("main", "v1.x"):  # races lost and replayed, the maintainer's commit kept
        subjects = git("log", "--format=%s", branch,
                       cwd=forge.git_dir("pkg00003-feedstock")).splitlines()
        assert subjects.index(CONFIG_SUBJECT) < subjects.index("maintainer edit"), subjects
    assert surroundings(forge.root, skip=skip) == before  # the hostile repo included

    # without --all-branches the default branch is the first name git would be given
    migrate(forge, tmp_path / "state-2", renderer="patch",
            repos=[forge.repo("pkg00002-feedstock")])
    failed = records(tmp_path / "state-2")["pkg00002-feedstock"]
    assert (failed["reason_code"], failed["reason"]) == (
        "bad-branch", f"check-config: branch {hostile!r} is refused: it starts with '-'")
    assert not marker.exists()
    assert surroundings(forge.root, skip=skip) == before


def test_recipe_loops_and_alias_bombs_fail_alone_within_limits(
        make_forge, tmp_path: Path) -> None:
    forge = make_forge(count=4, corpus_share=0)
    loop = ("{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}"
            "{% endfor %}\n")
    meta = (forge.read_file("pkg00001-feedstock", "recipe/meta.yaml") or b"").decode()
    _commit(forge, "pkg00001-feedstock", "recipe/meta.yaml", loop + meta, tmp_path)
    bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]'] + [  # 9**9 strings, in 330 bytes
        f"{c}: &{c} [" + ",".join([f"*{p}"] * 9) + "]"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)]
    _commit(forge, "pkg00002-feedstock", "conda-forge.yml", "\n".join(bomb) + "\n", tmp_path)

    ended: dict[str, float] = {}
    started = time.monotonic()

    class Clock:
        def start(self, total: int, *, untouched: int = 0) -> None: ...

        def __call__(self, feedstock: str, outcome: str) -> None:
            ended[feedstock] = time.monotonic() - started

    migration = migrations.get("output-validation", generation=1)
    with TreeMemory() as memory:
        run_migration(forge, migration, StateDir(tmp_path / "state", migration.name),
                      Options(renderer="patch", jobs=2, feedstock_timeout=6.0),
                      stores=local_stores(forge), progress=Clock())

    found = records(tmp_path / "state")
    looping, bombed = found["pkg00001-feedstock"], found["pkg00002-feedstock"]
    assert (looping["status"], looping["reason_code"]) == ("failed", "time-limit")
    assert looping["reason"].startswith(
        "register-outputs: ran past the feedstock's time limit of 6 s (cannot tell the "
        "recipe's outputs: reading the recipe took longer than")
    assert (bombed["status"], bombed["reason_code"]) == ("failed", "bad-config")
    assert "expands to more than" in bombed["reason"]
    assert_others_done(forge, found, {"pkg00001-feedstock", "pkg00002-feedstock"})
    assert ended["pkg00001-feedstock"] < 30 and ended["pkg00002-feedstock"] < 30, ended
    assert memory.peak - memory.baseline < 512 << 20, (memory.baseline, memory.peak)


def _commit(forge: LocalForge, repo: str, path: str, text: str, tmp_path: Path) -> None:
    commit_file(forge, repo, path, text, tmp_path / "edits" / repo)


def test_a_step_that_outlives_the_limit_stops_its_feedstock(make_forge, tmp_path: Path
                                                             ) -> None:
    forge = make_forge(count=2, corpus_share=0)
    ran: list[str] = []

    def slow(task: FeedstockTask[None, None]) -> str:
        ran.append(task.repo.name)
        if task.repo.name == "pkg00000-feedstock":
            time.sleep(0.4)  # its own work
        else:
            with deadline.paused():  # held back by a rate limit: not its own time
                time.sleep(0.4)
        return "slept"

    migration: Migration[None, None] = Migration(
        name="sleepy", steps=(Step("slow", slow), Step("after", lambda task: "ran")),
        run_data=lambda: None, feedstock_data=lambda: None)
    state = StateDir(tmp_path / "state", "sleepy")
    summary = run_migration(forge, migration, state, Options(feedstock_timeout=0.2, jobs=2))
    found = {r["feedstock"]: r for r in state.records()}
    slow_one = found["pkg00000-feedstock"]
    assert summary.outcomes == {"failed": 1, "done": 1}
    assert slow_one["steps"]["slow"]["status"] == "done"  # its effect happened: kept
    assert slow_one["steps"]["after"]["status"] == "failed"
    assert (slow_one["reason_code"], slow_one["reason"]) == (
        "time-limit", "after: ran past the feedstock's time limit of 0.2 s (not started)")
    assert found["pkg00001-feedstock"]["status"] == "done"
    assert sorted(ran) == ["pkg00000-feedstock", "pkg00001-feedstock"]
