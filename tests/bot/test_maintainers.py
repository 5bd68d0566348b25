"""What maintainers see beyond the two commits: a comment on each open pull request, and
what admins see: archived feedstocks picked up once unarchived, a job summary and chart."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from migrator.bot import job_summary, run_history, run_report
from migrator.bot.state import StateDir
from migrator.core.git import git
from testing.runs import migrate, provider_tokens, run_cli


def _open_pull(forge, repo: str, number_hint: str, config: str, tmp_path: Path) -> int:  # type: ignore[no-untyped-def]
    """A maintainer's pull request: a branch `refs/pull/<n>/head` with its own config."""
    number = forge.talk.open_pull(repo, title=f"bump {number_hint}", head_ref="",
                                  base_ref="main", author="someone")
    work = tmp_path / f"pr-{repo}-{number}"
    git("clone", "-q", str(forge.git_dir(repo)), str(work))
    (work / "conda-forge.yml").write_text(config)
    git("add", "-A", cwd=work)
    git("commit", "-qm", f"bump {number_hint}", cwd=work)
    git("push", "-q", "origin", f"HEAD:refs/pull/{number}/head", cwd=work)
    pulls = forge.talk.pulls(repo)
    pulls[number - 1]["head_ref"] = f"refs/pull/{number}/head"
    import json

    (forge.root / "pulls" / f"{repo}.json").write_text(json.dumps(pulls))
    return number


def test_each_open_pull_request_gets_one_comment_across_runs(make_forge, tmp_path: Path) -> None:
    forge = make_forge(count=3, corpus_share=0)
    repo = "pkg00001-feedstock"
    plain = _open_pull(forge, repo, "1", "bot:\n  automerge: true\n", tmp_path)
    keyed = _open_pull(forge, repo, "2", "conda_forge_output_validation: true\n", tmp_path)
    migrate(forge, tmp_path / "state")
    # a run that died after commenting but before recording the step resumes it
    state = StateDir(tmp_path / "state", "output-validation")
    record = state.load(forge.repo(repo))
    del record.steps["tell-open-pulls"]
    record.set_status("in-progress")
    migrate(forge, tmp_path / "state")
    comments = {p["number"]: p["comments"] for p in forge.talk.pulls(repo)}
    assert len(comments[plain]) == 1 and comments[keyed] == []
    body = comments[plain][0]["body"]
    assert "conda_forge_output_validation: true" in body
    assert "@conda-forge-admin, please rerender" in body
    record = StateDir(tmp_path / "state", "output-validation").load(forge.repo(repo))
    assert record.data["told_pulls"] == [plain]


def test_an_unarchived_feedstock_is_provisioned_on_the_next_run(make_forge,
                                                                 tmp_path: Path) -> None:
    forge = make_forge(count=8, corpus_share=0)
    archived = next(r for r in forge.list_feedstocks() if r.archived)
    migrate(forge, tmp_path / "state")
    state = StateDir(tmp_path / "state", "output-validation")
    assert state.peek(archived) == ("skipped", "archived")
    assert provider_tokens(forge, archived) == {}
    again = migrate(forge, tmp_path / "state")
    assert sum(again.outcomes.values()) == 0  # still archived: left alone
    forge.set_archived(archived.name, False)
    later = migrate(forge, tmp_path / "state")
    assert later.outcomes == {"done": 1}
    assert StateDir(tmp_path / "state", "output-validation").peek_status(archived) == "done"
    assert provider_tokens(forge, archived)


def test_the_job_summary_and_chart_come_from_the_state(make_forge, tmp_path: Path) -> None:
    forge = make_forge(count=6, corpus_share=0)
    state_dir = tmp_path / "state"
    args = ("--forge", str(forge.root), "--state", str(state_dir), "--renderer", "patch")
    for cap in ("2", "2", "10"):  # three scheduled runs
        run_cli("run", "output-validation", *args, "--max-feedstocks", cap, check=True)
    markdown, svg = tmp_path / "summary.md", tmp_path / "progress.svg"
    run_cli("report", "output-validation", "--forge", str(forge.root), "--state",
            str(state_dir), "--markdown", str(markdown), "--svg", str(svg), check=True)
    text = markdown.read_text()
    assert "| done | failed | skipped | in progress | pending | all |" in text
    assert "Time to finish the organisation: done" in text
    tree = ET.parse(svg)
    circles = tree.getroot().findall("{http://www.w3.org/2000/svg}circle")
    history = run_history.read(state_dir / "output-validation" / "history")
    assert len(history) == 3 and len(circles) == 3  # one point per run
    summary = run_report.collect(StateDir(state_dir, "output-validation"), None)
    assert job_summary.markdown(summary, history).startswith("## output-validation")
