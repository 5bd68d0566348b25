from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from migrator.bot.state import StateDir
from migrator.core.git import git
from migrator.forges import PushRejected
from migrator.forges.local import LocalForge
from testing.runs import migrate, provider_tokens, run_cli

CONFIG_SUBJECT = "[ci skip] [skip ci] [cf admin skip] ***NO_CI*** enable output validation"
KEY_LINE = "+conda_forge_output_validation: true"


def config_commits(forge: LocalForge, repo: str, branch: str = "main") -> list[str]:
    out = git("log", "--format=%H %s", branch, cwd=forge.git_dir(repo))
    return [line.split()[0] for line in out.splitlines() if CONFIG_SUBJECT in line]


def added_and_removed(forge: LocalForge, repo: str, sha: str) -> list[str]:
    diff = git("show", "--format=", "--unified=0", sha, cwd=forge.git_dir(repo))
    return [line for line in diff.splitlines()
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def statuses(state: Path) -> dict[str, dict]:
    return {r["feedstock"]: r for r in StateDir(state, "output-validation").records()}


def test_every_feedstock_is_migrated_or_gets_a_reason(make_forge, tmp_path: Path) -> None:
    forge = make_forge(count=30, broken=True)
    summary = migrate(forge, tmp_path / "state")
    records = statuses(tmp_path / "state")
    reasons = {name: r.get("reason", "") for name, r in records.items() if r["status"] != "done"}
    expected = {
        "broken-tabs-feedstock": "a tab character where YAML allows none (line 2",
        "broken-list-root-feedstock": "must hold a mapping at the top level, found a list",
        "broken-scalar-root-feedstock": "found a str value",
        "broken-duplicate-keys-feedstock": "duplicate key 'bot' (line 3, column 1)",
        "broken-invalid-yaml-feedstock": "conda-forge.yml is not valid YAML",
        "broken-no-config-feedstock": "conda-forge.yml is missing",
        "broken-no-recipe-feedstock": "no recipe",
        "broken-empty-repo-feedstock": "is empty: it has no commits",
        "broken-missing-branch-feedstock": "branch 'gone' does not exist",
        "broken-push-rejected-feedstock": "the remote refused the push",
        "pkg00007-feedstock": "repository is archived",
        "broken-appveyor-upload-feedstock": "uploads from AppVeyor (appveyor builds win_64)",
        "broken-travis-upload-feedstock": "travis builds linux_ppc64le",
    }
    for name, fragment in expected.items():
        assert fragment in reasons.pop(name), name
    broken_corpus = {n for n in reasons if n.startswith("broken-corpus-")}
    assert all("not valid YAML" in reasons[n] or "no feedstock token" in reasons[n]
               for n in broken_corpus), reasons
    # real feedstocks that upload from travis or drone (abseil-cpp) get no token
    other = {n: r for n, r in reasons.items() if n not in broken_corpus}
    assert all(records[n]["reason_code"] == "unsupported-provider" for n in other), other
    broken_corpus |= set(other)
    assert records["empty-config-feedstock"]["status"] == "done"
    # AppVeyor: a distinct reason code, no token anywhere, one issue telling the maintainers
    appveyor = forge.repo("broken-appveyor-upload-feedstock")
    assert records[appveyor.name]["reason_code"] == "appveyor-uploads"
    assert provider_tokens(forge, appveyor) == {}
    issues = forge.talk.issues(appveyor.name)
    assert len(issues) == 1 and "AppVeyor" in issues[0]["title"]
    assert "provider:" in issues[0]["body"] and "please rerender" in issues[0]["body"]
    migrate(forge, tmp_path / "state", retry_failed=True)
    assert len(forge.talk.issues(appveyor.name)) == 1  # the same issue, not a second one
    assert summary.outcomes["done"] == len(records) - len(expected) - len(broken_corpus)
    # each migrated feedstock: exactly one new commit whose diff is only the key line
    for repo in forge.list_feedstocks():
        if records[repo.name]["status"] != "done":
            continue
        commits = config_commits(forge, repo.name)
        detail = records[repo.name]["steps"]["switch@main"]["detail"]
        if "conda-forge.yml already had" in detail:
            assert commits == []
            continue
        assert len(commits) == 1, repo.name
        lines = added_and_removed(forge, repo.name, commits[0])
        added = [ln for ln in lines if ln.startswith("+")]
        removed = [ln for ln in lines if ln.startswith("-")]
        assert len(added) == 1 and added[0].split("#")[0].rstrip() == KEY_LINE, lines
        # the only line that can go is the old value of the key (or an empty `[]`)
        assert all(r.startswith(("-conda_forge_output_validation:", "-[]", "-{}"))
                   for r in removed), lines


class CountingForge(LocalForge):
    calls: list[str]

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.calls = []

    def clone(self, repo, branch, dest, *, depth=1):  # type: ignore[no-untyped-def]
        self.calls.append(f"clone {repo}")
        super().clone(repo, branch, dest, depth=depth)

    def push(self, workdir, repo, branch):  # type: ignore[no-untyped-def]
        self.calls.append(f"push {repo}")
        super().push(workdir, repo, branch)

    def put_repo_secret(self, repo, name, value, key_id):  # type: ignore[no-untyped-def]
        self.calls.append(f"secret {repo.name}")
        super().put_repo_secret(repo, name, value, key_id)


def test_a_rerun_on_a_finished_state_does_nothing(make_forge, tmp_path: Path) -> None:
    forge = make_forge(count=10, corpus_share=0.2)
    first = migrate(forge, tmp_path / "state")
    assert first.outcomes["done"] == 9 and first.outcomes["skipped"] == 1  # pkg00007
    heads = {r.name: git("rev-parse", "main", cwd=forge.git_dir(r.name))
             for r in forge.list_feedstocks()}
    counting = CountingForge(forge.root)
    second = migrate(counting, tmp_path / "state")
    assert counting.calls == []
    assert sum(second.outcomes.values()) == 0
    assert second.untouched == {"done": 9, "skipped": 1}
    assert heads == {r.name: git("rev-parse", "main", cwd=forge.git_dir(r.name))
                     for r in forge.list_feedstocks()}


def test_failures_are_retried_only_when_asked(make_forge, tmp_path: Path) -> None:
    forge = make_forge(count=3, broken=True)
    migrate(forge, tmp_path / "state")
    hook = forge.git_dir("broken-push-rejected-feedstock") / "hooks" / "pre-receive"
    hook.unlink()
    migrate(forge, tmp_path / "state")
    assert statuses(tmp_path / "state")["broken-push-rejected-feedstock"]["status"] == "failed"
    again = migrate(forge, tmp_path / "state", retry_failed=True)
    record = statuses(tmp_path / "state")["broken-push-rejected-feedstock"]
    assert record["status"] == "done"
    assert record["steps"]["switch@main"]["attempts"] == 2
    assert again.outcomes["done"] == 1


class RacingForge(LocalForge):
    """Someone else pushes to each feedstock just before our first push to it."""

    def __init__(self, root: Path, scratch: Path) -> None:
        super().__init__(root)
        self.scratch = scratch
        self.raced: set[str] = set()

    def push(self, workdir, repo, branch):  # type: ignore[no-untyped-def]
        if repo.endswith("-feedstock") and repo not in self.raced:
            self.raced.add(repo)
            other = self.scratch / repo
            git("clone", "-q", str(self.git_dir(repo)), str(other))
            (other / "recipe" / "meta.yaml").write_text("# maintainer edit\n" + (
                other / "recipe" / "meta.yaml").read_text())
            git("commit", "-qam", "maintainer edit", cwd=other)
            git("push", "-q", "origin", f"HEAD:{branch}", cwd=other)
        super().push(workdir, repo, branch)


def test_a_lost_push_race_is_replayed_never_forced(make_forge, tmp_path: Path) -> None:
    forge = make_forge(count=4, corpus_share=0)
    racing = RacingForge(forge.root, tmp_path / "others")
    migrate(racing, tmp_path / "state")
    for repo in forge.list_feedstocks():
        if repo.archived:
            continue
        subjects = git("log", "--format=%s", "main", cwd=forge.git_dir(repo.name)).splitlines()
        assert "maintainer edit" in subjects, repo.name  # their commit survived
        if config_commits(forge, repo.name):
            assert subjects[0] == CONFIG_SUBJECT
            assert subjects[1] == "maintainer edit"


def test_push_rejection_is_not_mistaken_for_a_race(make_forge) -> None:
    forge = make_forge(count=1, broken=True)
    workdir = forge.root.parent / "wc"
    forge.clone("broken-push-rejected-feedstock", "main", workdir)
    git("commit", "-q", "--allow-empty", "-m", "x", cwd=workdir)
    with pytest.raises(PushRejected) as info:
        forge.push(workdir, "broken-push-rejected-feedstock", "main")
    assert not info.value.race
    assert "protected branch" in str(info.value)


def test_all_branches_covers_maintenance_branches(make_forge, tmp_path: Path) -> None:
    forge = make_forge(count=5, corpus_share=0)
    migrate(forge, tmp_path / "state", all_branches=True)
    record = statuses(tmp_path / "state")["pkg00003-feedstock"]
    assert record["branches"] == ["main", "v1.x"]
    assert len(config_commits(forge, "pkg00003-feedstock", "v1.x")) == 1
    assert len(config_commits(forge, "pkg00003-feedstock", "main")) == 1


def test_default_run_leaves_maintenance_branches_alone(make_forge, tmp_path: Path) -> None:
    forge = make_forge(count=5, corpus_share=0)
    migrate(forge, tmp_path / "state")
    assert config_commits(forge, "pkg00003-feedstock", "v1.x") == []
    assert len(config_commits(forge, "pkg00003-feedstock", "main")) == 1


def test_a_second_run_on_the_same_state_is_refused(make_forge, tmp_path: Path) -> None:
    forge = make_forge(count=2)
    state = StateDir(tmp_path / "state", "output-validation")
    with state.exclusive():
        result = run_cli("run", "output-validation", "--forge", str(forge.root),
                         "--state", str(tmp_path / "state"))
    assert result.returncode == 2
    assert result.stderr.startswith("migrator: error: another migrator run is using")
    assert "Traceback" not in result.stderr


def test_status_reports_groups_and_json(make_forge, tmp_path: Path) -> None:
    forge = make_forge(count=6, broken=True, corpus_share=0)
    migrate(forge, tmp_path / "state", max_feedstocks=10)
    args = ("--forge", str(forge.root), "--state", str(tmp_path / "state"))
    text = run_cli("status", "output-validation", *args, check=True).stdout
    assert "failed:bad-config" in text
    import json

    data = json.loads(run_cli("status", "output-validation", *args, "--json",
                              check=True).stdout)
    total = len(forge.list_feedstocks())
    assert data["schema_version"] == 1
    assert sum(data["totals"].values()) == total == len(data["feedstocks"])
    assert data["totals"]["pending"] == total - 10
    assert any(r["reason_code"] == "bad-config" and r["last_step"] == "check-config"
               for r in data["feedstocks"])
    missing = run_cli("status", "output-validation", "--forge", str(forge.root),
                      "--state", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1
    wrong_forge = run_cli("status", "output-validation", "--forge", str(tmp_path / "nope"),
                          "--state", str(tmp_path / "state"))
    assert wrong_forge.returncode == 2 and "not a local forge" in wrong_forge.stderr


def test_user_errors_are_one_line(tmp_path: Path) -> None:
    result = run_cli("run", "output-validation", "--forge", str(tmp_path / "nowhere"),
                     "--state", str(tmp_path / "s"))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "is not a local forge" in result.stderr
    bad = run_cli("run", "no-such-migration", "--forge", str(tmp_path))
    assert bad.returncode == 2 and "invalid choice: 'no-such-migration'" in bad.stderr
    assert bad.stderr.strip().count("\n") == 0


def test_a_wrong_option_is_one_line_and_changes_nothing(make_forge, tmp_path: Path) -> None:
    forge = make_forge(count=3)
    before = _tree_digest(forge.root)
    for args in (("--renderer", "bultin"), ("--grace", "1"), ("--grace", "nan"),
                 ("--jobs", "0"), ("--batch-size", "x"), ("--shard", "3/2")):
        result = run_cli("run", "output-validation", "--forge", str(forge.root),
                         "--state", str(tmp_path / "state"), *args)
        assert result.returncode == 2, args
        assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
    assert _tree_digest(forge.root) == before
    assert not (tmp_path / "state" / "output-validation").exists()


def _tree_digest(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_help_explains_every_command() -> None:
    for command in (["forge", "init"], ["run"], ["status"], ["demo"], ["tokens", "verify"],
                    ["tokens", "status"]):
        result = run_cli(*command, "--help", check=True)
        assert "usage: migrator" in result.stdout and len(result.stdout) > 200, command


def test_forge_init_makes_real_git_and_reports_time(tmp_path: Path) -> None:
    result = run_cli("forge", "init", str(tmp_path / "f"), "--count", "40", check=True)
    assert "40 feedstocks" in result.stdout and " s" in result.stdout
    forge = LocalForge(tmp_path / "f")
    names = [r.name for r in forge.list_feedstocks()]
    assert len(names) == 40 and len({r.id for r in forge.list_feedstocks()}) == 40
    for name in names[:5] + names[-5:]:
        subprocess.run(["git", "fsck", "--strict", "--no-progress"], cwd=forge.git_dir(name),
                       check=True, capture_output=True)


def test_dry_run_changes_nothing_and_says_what_it_would_do(make_forge, tmp_path: Path) -> None:
    forge = make_forge(count=4, corpus_share=0)
    before = {r.name: git("rev-parse", "main", cwd=forge.git_dir(r.name))
              for r in forge.list_feedstocks()}
    result = run_cli("run", "output-validation", "--dry-run", "--renderer", "none",
                     "--forge", str(forge.root), "--state", str(tmp_path / "state"), check=True)
    assert "would push" in result.stdout and "secret" in result.stdout
    assert "nothing was changed" in result.stdout
    assert before == {r.name: git("rev-parse", "main", cwd=forge.git_dir(r.name))
                      for r in forge.list_feedstocks()}
    assert not (tmp_path / "state").exists()
    assert all(forge.repo_secrets(r) == {} for r in forge.list_feedstocks())
    assert all(provider_tokens(forge, r) == {} for r in forge.list_feedstocks())


def test_the_patch_is_its_own_commit_and_changes_only_validation_lines(
        make_forge, tmp_path: Path) -> None:
    from migrator.rerender.guard import check_rerender

    forge = make_forge(count=4, corpus_share=0)
    migrate(forge, tmp_path / "state", renderer="patch")
    records = statuses(tmp_path / "state")
    switched = [n for n, r in records.items() if r["status"] == "done"
                and "(the validation patch)" in r["steps"]["switch@main"]["detail"]]
    assert switched
    for name in switched:
        repo = forge.git_dir(name)
        subjects = git("log", "--format=%s", cwd=repo).splitlines()
        assert subjects[0] == ("[ci skip] [skip ci] [cf admin skip] ***NO_CI*** MNT: validate "
                               "outputs before they reach conda-forge")
        assert CONFIG_SUBJECT in subjects[1]
        body = git("log", "-1", "--format=%b", cwd=repo)
        assert "Made by the validation patch" in body and "conda-forge.org/docs" in body
        assert git("show", "--format=", "--name-only", "HEAD~1", cwd=repo).split() == \
            ["conda-forge.yml"]
        changed = git("show", "--format=", "--name-only", "HEAD", cwd=repo).split()
        before = {p: _blob(repo, f"HEAD~1:{p}") for p in changed}
        after = {p: _blob(repo, f"HEAD:{p}") for p in changed}
        assert check_rerender(before, after).ok, name
        steps = forge.read_file(name, ".scripts/build_steps.sh") or b""
        assert b'validate_recipe_outputs "${FEEDSTOCK_NAME}"' in steps
    # patching again finds nothing to change: no commit, on any feedstock
    heads = {r.name: git("rev-parse", "main", cwd=forge.git_dir(r.name))
             for r in forge.list_feedstocks()}
    again = migrate(forge, tmp_path / "state-again", renderer="patch")
    assert again.outcomes["done"] == len(switched) + sum(
        1 for r in records.values() if r["status"] == "done" and r["feedstock"] not in switched)
    assert heads == {r.name: git("rev-parse", "main", cwd=forge.git_dir(r.name))
                     for r in forge.list_feedstocks()}


def _blob(repo: Path, spec: str) -> bytes | None:
    done = subprocess.run(["git", "cat-file", "blob", spec], cwd=repo, capture_output=True)
    return done.stdout if done.returncode == 0 else None


def test_provisioning_claims_free_output_names_and_stops_on_taken_ones(
    make_forge, tmp_path: Path,
) -> None:
    from migrator.registries import outputs_registry as outputs_registry
    from migrator.registries.outputs_writer import register_outputs

    forge = make_forge(count=3, corpus_share=0)
    register_outputs(forge, {"someone-else": ["pkg00001"]}, workdir=tmp_path / "claim")
    migrate(forge, tmp_path / "state")
    records = statuses(tmp_path / "state")
    assert outputs_registry.registered(forge, "pkg00000") == ["pkg00000"]
    assert outputs_registry.registered(forge, "pkg00002") == ["pkg00002"]
    assert outputs_registry.registered(forge, "pkg00001") == ["someone-else"]
    taken = records["pkg00001-feedstock"]
    assert taken["status"] == "failed"
    assert taken["reason"] == ("register-outputs: output names taken: pkg00001 belongs to "
                               "someone-else")
    # not switched over: its uploads would be refused
    assert config_commits(forge, "pkg00001-feedstock") == []
    subjects = git("log", "--format=%s", cwd=forge.git_dir("feedstock-outputs")).splitlines()
    # created, the manual claim, and one commit per batch the migration flushed with claims
    assert len(subjects) <= 4 and subjects[-1] == "Create feedstock-outputs"


def test_demo_runs_the_whole_system(tmp_path: Path) -> None:
    result = run_cli("demo", str(tmp_path / "demo"), "--count", "8")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "output-validation: 8 done, 0 failed, 0 skipped, 0 in-progress, 0 pending" in out
    assert "8 of 8 migrated feedstocks now run `validate_recipe_outputs`" in out
    for provider in ("azure", "github_actions"):  # one CI job of each, both accepted
        assert f"a CI job on {provider} built" in out
    assert out.count("production lists it: yes; staging clean: yes") == 2
    assert "py-rattler solves an environment from conda-forge" in out
    forge = LocalForge(tmp_path / "demo" / "forge")
    steps = forge.read_file("pkg00001-feedstock", ".scripts/build_steps.sh") or b""
    assert b"validate_recipe_outputs" in steps


def test_shards_split_the_feedstocks_without_overlap(make_forge, tmp_path: Path) -> None:
    forge = make_forge(count=12, corpus_share=0)
    seen: list[str] = []
    for index in range(3):
        result = run_cli("run", "output-validation", "--renderer", "none", "--shard",
                         f"{index}/3", "--forge", str(forge.root), "--state",
                         str(tmp_path / f"state-{index}"), check=True)
        assert "this run" in result.stdout
        names = sorted(r["feedstock"] for r in
                       StateDir(tmp_path / f"state-{index}", "output-validation").records())
        assert names, index  # every shard got work
        seen += names
    assert sorted(seen) == sorted(r.name for r in forge.list_feedstocks())


def test_time_budget_and_cap_leave_the_rest_for_later(make_forge, tmp_path: Path) -> None:
    forge = make_forge(count=8, corpus_share=0)
    capped = migrate(forge, tmp_path / "state", max_feedstocks=3, batch_size=2)
    assert sum(capped.outcomes.values()) == 3 and capped.not_reached == 5
    spent = migrate(forge, tmp_path / "state", time_budget=0.0, batch_size=2)
    assert sum(spent.outcomes.values()) == 0 and spent.not_reached == 5
    rest = migrate(forge, tmp_path / "state", batch_size=2)
    assert sum(rest.outcomes.values()) == 5 and rest.not_reached == 0


def test_a_feedstock_the_renderer_refuses_gets_no_token_and_no_commit(
        make_forge, tmp_path: Path) -> None:
    from testing.forge_edits import commit_file

    forge = make_forge(count=2, corpus_share=0)
    # an upload line the patch does not recognise: it must not guess
    steps = (forge.read_file("pkg00000-feedstock", ".scripts/build_steps.sh") or b"").decode()
    commit_file(forge, "pkg00000-feedstock", ".scripts/build_steps.sh",
                steps.replace("upload_package", "my_own_uploader"), tmp_path / "edit")
    migrate(forge, tmp_path / "state", renderer="patch")
    record = statuses(tmp_path / "state")["pkg00000-feedstock"]
    assert record["status"] == "failed" and record["reason_code"] == "render-refused"
    assert record["reason"].startswith("check-renderable: ")
    assert ".scripts/build_steps.sh" in record["reason"]
    assert config_commits(forge, "pkg00000-feedstock") == []
    assert provider_tokens(forge, forge.repo("pkg00000-feedstock")) == {}
    assert statuses(tmp_path / "state")["pkg00001-feedstock"]["status"] == "done"
