"""A full rerender (conda-smithy) through the migration: it runs in a linked worktree of
the scratch repository at the config commit, and what it changed, added and deleted
becomes the rerender commit, pushed with the config commit in one push."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from migrator.core.git import git
from testing.runs import migrate

FAKE_SMITHY = """#!/bin/sh
if [ "$1" = "--version" ]; then echo "3.99.0"; exit 0; fi
cd "$3"
# what it was given: the config commit, the key already set
grep -q "conda_forge_output_validation: true" conda-forge.yml || exit 7
echo "# rerendered" >> .scripts/build_steps.sh
echo "new file" > .ci_support/README
rm LICENSE.txt
git status --porcelain >> "{log}"
"""


def test_conda_smithy_rerenders_in_a_worktree_and_both_commits_land_in_one_push(
    make_forge, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    forge = make_forge(count=2, corpus_share=0)
    names = [r.name for r in forge.list_feedstocks() if not r.archived]
    log = tmp_path / "smithy.log"
    tool = tmp_path / "bin" / "conda-smithy"
    tool.parent.mkdir()
    tool.write_text(FAKE_SMITHY.format(log=log))
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tool.parent}{os.pathsep}{os.environ['PATH']}")
    before = {n: git("rev-parse", "main", cwd=forge.git_dir(n)).strip() for n in names}
    pushes = tmp_path / "pushes.log"
    for name in names:  # one line per push the forge receives
        hook = forge.git_dir(name) / "hooks" / "post-receive"
        hook.parent.mkdir(exist_ok=True)
        hook.write_text(f'#!/bin/sh\necho "{name}" >> "{pushes}"\n')
        hook.chmod(0o755)
    summary = migrate(forge, tmp_path / "state", renderer="conda-smithy")
    assert summary.outcomes == {"done": len(names)}
    for name in names:
        repo = forge.git_dir(name)
        subjects = git("log", "--format=%s", f"{before[name]}..main", cwd=repo).splitlines()
        assert [s.split("***NO_CI*** ")[1] for s in subjects] == [
            "MNT: validate outputs before they reach conda-forge", "enable output validation"]
        changed = git("diff", "--name-status", "main~1", "main", cwd=repo).split("\n")
        assert sorted(filter(None, changed)) == [
            "A\t.ci_support/README", "D\tLICENSE.txt", "M\t.scripts/build_steps.sh"]
        body = git("log", "-1", "--format=%B", "main", cwd=repo)
        assert "Re-rendered with conda-smithy 3.99.0" in body
        assert git("show", "main:.scripts/build_steps.sh", cwd=repo).endswith("# rerendered\n")
    assert log.read_text().count("LICENSE.txt") == len(names)  # it ran in a git checkout
    assert sorted(pushes.read_text().split()) == sorted(names)  # one push each
