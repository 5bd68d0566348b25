"""The GitHub forge, one operation at a time, against the stand-in GitHub."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from migrator.core.errors import MigratorError, UserError
from migrator.core.git import git
from migrator.core.secret import Secret
from migrator.forges import PushRejected
from migrator.forges.github import github_forge_from_env
from migrator.forges.github_env import auth_from_env, pacer_from_env
from migrator.forges.sealing import seal
from testing.github_server import GithubServer
from testing.github_server.fixtures import (  # noqa: F401
    MakeServer,
    app_forge,
    github_server,
    local_of,
    make_github_server,
    seeded_forges,
    token_forge,
)


def test_listing_marks_archived_repos_keeps_ids_and_answers_304_next_time(
    make_github_server: MakeServer, tmp_path: Path,  # noqa: F811
) -> None:
    server = make_github_server(count=0)
    for i in range(205):  # three pages, the last one partly full
        server.model.add_repo(f"pkg{i:03d}-feedstock", tmp_path, repo_id=1000 + i,
                              archived=i == 7, default_branch="master" if i == 9 else "main")
    server.model.add_repo("feedstock-tokens", tmp_path, repo_id=5000)
    forge = token_forge(server, cache_dir=tmp_path / "cache")
    repos = forge.list_feedstocks()
    assert len(repos) == 205 and [r.name for r in repos] == sorted(r.name for r in repos)
    by_name = {r.name: r for r in repos}
    assert by_name["pkg007-feedstock"].archived and not by_name["pkg008-feedstock"].archived
    assert by_name["pkg009-feedstock"].default_branch == "master"
    assert by_name["pkg042-feedstock"].id == 1042
    assert forge.listing is not None and forge.listing.requests == 3

    again = token_forge(server, cache_dir=tmp_path / "cache")
    assert again.list_feedstocks() == repos
    assert again.listing is not None and (again.listing.requests, again.listing.not_modified) \
        == (3, 3)

    server.model.repos["pkg100-feedstock"].archived = True  # page 2 changes
    server.model.add_repo("late-feedstock", tmp_path, repo_id=9000)  # last page grows
    third = token_forge(server, cache_dir=tmp_path / "cache")
    found = {r.name: r for r in third.list_feedstocks()}
    assert found["pkg100-feedstock"].archived and "late-feedstock" in found
    assert third.listing is not None and third.listing.not_modified == 1


def test_a_new_page_after_an_unchanged_full_page_is_found(
    make_github_server: MakeServer, tmp_path: Path,  # noqa: F811
) -> None:
    server = make_github_server(count=0)
    for i in range(100):
        server.model.add_repo(f"a{i:03d}-feedstock", tmp_path, repo_id=i + 1)
    assert len(token_forge(server, cache_dir=tmp_path).list_feedstocks()) == 100
    server.model.add_repo("b-feedstock", tmp_path, repo_id=500)
    forge = token_forge(server, cache_dir=tmp_path)
    assert len(forge.list_feedstocks()) == 101
    assert forge.listing is not None and forge.listing.not_modified == 1


def test_read_file_and_branches(github_server: GithubServer) -> None:  # noqa: F811
    forge = token_forge(github_server)
    repo = forge.list_feedstocks()[0]
    local = local_of(github_server)
    assert forge.read_file(repo.name, "conda-forge.yml") == \
        local.read_file(repo.name, "conda-forge.yml")
    recipe = forge.read_file(repo.name, "recipe/meta.yaml") or \
        forge.read_file(repo.name, "recipe/recipe.yaml")
    assert recipe
    assert forge.read_file(repo.name, "no/such/file") is None
    assert forge.read_file(repo.name, "recipe") is None  # a directory is not a file
    assert forge.read_file(repo.name, "conda-forge.yml", ref="no-such-branch") is None
    assert forge.branches(repo) == local.branches(repo)


def test_repository_secret_is_sealed_for_the_repo_key(
    github_server: GithubServer,  # noqa: F811
) -> None:
    forge = token_forge(github_server)
    repo = forge.list_feedstocks()[1]
    key = forge.repo_public_key(repo)
    before = len(github_server.entries())
    forge.put_repo_secret(repo, "FEEDSTOCK_TOKEN", seal(key, Secret("a" * 64)), key.key_id)
    assert github_server.model.secret_value(repo.name, "FEEDSTOCK_TOKEN") == "a" * 64
    assert [(e.method, e.status) for e in github_server.entries()[before:]] == [("PUT", 201)]
    forge.put_repo_secret(repo, "FEEDSTOCK_TOKEN", seal(key, Secret("b" * 64)), key.key_id)
    assert github_server.model.secret_value(repo.name, "FEEDSTOCK_TOKEN") == "b" * 64
    assert set(forge.repo_secrets(repo)) == {"FEEDSTOCK_TOKEN"}
    written = forge.written_secret(repo, "FEEDSTOCK_TOKEN")
    listed = forge.repo_secrets(repo)["FEEDSTOCK_TOKEN"]
    assert written is not None and abs((written.updated_at - listed.updated_at).total_seconds()) < 2
    assert forge.written_secret(repo, "OTHER") is None
    with pytest.raises(MigratorError, match="422"):
        forge.put_repo_secret(repo, "X", seal(key, Secret("c")), "999")


def test_organisation_secret_visibility_and_selected_repos(
    github_server: GithubServer,  # noqa: F811
) -> None:
    forge = token_forge(github_server)
    first, second, third = forge.list_feedstocks()[:3]
    assert forge.org_secret("STAGING_BINSTAR_TOKEN") is None
    key = forge.org_public_key()
    forge.put_org_secret("STAGING_BINSTAR_TOKEN", seal(key, Secret("s")), key.key_id,
                         visibility="selected", selected_repository_ids=[first.id])
    info = forge.org_secret("STAGING_BINSTAR_TOKEN")
    assert info is not None and info.selected_repository_ids == {first.id}
    before = len(github_server.entries())
    forge.add_org_secret_repo("STAGING_BINSTAR_TOKEN", first)  # already there: no request
    forge.add_org_secret_repo("STAGING_BINSTAR_TOKEN", second)
    now = forge.org_secret("STAGING_BINSTAR_TOKEN")
    assert now is not None and now.selected_repository_ids == {first.id, second.id}
    assert len(github_server.entries()) == before + 1
    assert github_server.model.ci_secrets(second.name) == {"STAGING_BINSTAR_TOKEN": "s"}
    assert "STAGING_BINSTAR_TOKEN" not in github_server.model.ci_secrets(third.name)
    forge.put_org_secret("STAGING_BINSTAR_TOKEN", seal(key, Secret("s2")), key.key_id,
                         visibility="all")
    assert github_server.model.ci_secrets(third.name)["STAGING_BINSTAR_TOKEN"] == "s2"
    with pytest.raises(MigratorError, match="not limited to selected"):
        forge.add_org_secret_repo("STAGING_BINSTAR_TOKEN", first)


def test_comments_issues_and_pull_requests(github_server: GithubServer) -> None:  # noqa: F811
    forge = token_forge(github_server)
    repo = forge.list_feedstocks()[0].name
    forge.comment_on_commit(repo, "f" * 40, "the copy failed")
    assert github_server.model.repos[repo].comments[0]["body"] == "the copy failed"
    github_server.model.add_pull(repo, "Update to 2.0", "bump",
                                 files={"conda-forge.yml": b"bot:\n  automerge: true\n"})
    assert forge.open_issue(repo, "Output validation", "first") == 2
    before = len(github_server.entries())
    assert forge.open_issue(repo, "Output validation", "first") == 2  # same body: no write
    assert [e.method for e in github_server.entries()[before:]] == ["GET"]
    assert forge.open_issue(repo, "Output validation", "second") == 2
    assert github_server.model.repos[repo].issues[1]["body"] == "second"
    assert forge.open_issue(repo, "Other", "x") == 3
    pulls = forge.open_pulls(repo)
    assert [(p.number, p.title, p.head_ref, p.base_ref) for p in pulls] == [
        (1, "Update to 2.0", "refs/pull/1/head", "main")]
    # the pull request's own files are read at its head ref, the branch's elsewhere
    assert forge.read_file(repo, "conda-forge.yml", ref=pulls[0].head_ref) == \
        b"bot:\n  automerge: true\n"
    assert forge.read_file(repo, "conda-forge.yml") == \
        local_of(github_server).read_file(repo, "conda-forge.yml")
    assert forge.read_file(repo, "recipe/meta.yaml", ref=pulls[0].head_ref) == \
        local_of(github_server).read_file(repo, "recipe/meta.yaml")
    before = len(github_server.entries())
    forge.comment_on_pull(repo, 1, "please rerender")
    assert [(e.method, e.status) for e in github_server.entries()[before:]] == [("POST", 201)]
    assert [c["body"] for c in github_server.model.repos[repo].issues[0]["comments"]] == [
        "please rerender"]
    with pytest.raises(MigratorError, match="404"):
        forge.comment_on_pull(repo, 99, "nobody")


def test_clone_fetch_push_and_the_race(
    github_server: GithubServer, tmp_path: Path,  # noqa: F811
) -> None:
    forge = token_forge(github_server)
    repo = forge.list_feedstocks()[0]
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    forge.clone(repo.name, repo.default_branch, ours)
    forge.clone(repo.name, None, theirs)
    assert git("rev-list", "--count", "HEAD", cwd=ours).strip() == "1"  # shallow
    for work, name in ((theirs, "theirs.txt"), (ours, "ours.txt")):
        (work / name).write_text(name)
        git("add", name, cwd=work)
        git("commit", "-q", "-m", name, cwd=work)
    forge.push(theirs, repo.name, repo.default_branch)
    with pytest.raises(PushRejected) as raced:
        forge.push(ours, repo.name, repo.default_branch)
    assert raced.value.race
    forge.fetch(ours, repo.name, repo.default_branch)
    git("rebase", "-q", "FETCH_HEAD", cwd=ours)
    forge.push(ours, repo.name, repo.default_branch)
    assert local_of(github_server).read_file(repo.name, "ours.txt") == b"ours.txt"
    with pytest.raises(MigratorError, match="branch 'nope' does not exist"):
        forge.clone(repo.name, "nope", tmp_path / "x")
    with pytest.raises(MigratorError, match="does not exist"):
        forge.clone("missing-feedstock", None, tmp_path / "y")


def test_archived_repositories_refuse_pushes(github_server: GithubServer,  # noqa: F811
                                             tmp_path: Path) -> None:
    first = min(n for n in github_server.model.repos if n.endswith("-feedstock"))
    github_server.model.repos[first].archived = True
    forge = token_forge(github_server)
    archived = next(r for r in forge.list_feedstocks() if r.archived)
    forge.clone(archived.name, None, tmp_path / "wc")
    git("commit", "-q", "--allow-empty", "-m", "x", cwd=tmp_path / "wc")
    with pytest.raises(PushRejected) as refused:
        forge.push(tmp_path / "wc", archived.name, archived.default_branch)
    assert not refused.value.race


def test_app_installation_tokens_are_renewed_before_they_expire(
    make_github_server: MakeServer,  # noqa: F811
) -> None:
    server = make_github_server(count=2, token_ttl=22.0)  # PyGithub renews 20 s early
    forge = app_forge(server)
    repo = forge.list_feedstocks()[0]
    assert server.model.token_exchanges == 1
    time.sleep(2.5)
    forge.repo_public_key(repo)
    forge.branches(repo)  # git asks for the token too
    assert server.model.token_exchanges >= 2
    assert not [e for e in server.entries() if e.status == 401]


def test_credentials_come_from_the_environment(github_server: GithubServer) -> None:  # noqa: F811
    with pytest.raises(UserError, match="GITHUB_TOKEN"):
        auth_from_env({})
    with pytest.raises(UserError, match="GITHUB_APP_INSTALLATION_ID"):
        auth_from_env({"GITHUB_APP_ID": "1", "GITHUB_APP_PRIVATE_KEY": "k"})
    env = {"GITHUB_TOKEN": github_server.admin_token, "GITHUB_API_URL": github_server.api_url,
           "GITHUB_SERVER_URL": github_server.url, "MIGRATOR_ORG": "conda-forge"}
    forge = github_forge_from_env(env)
    assert forge.org == "conda-forge" and len(forge.list_feedstocks()) == 8


def test_pacing_from_the_environment() -> None:
    assert pacer_from_env({}).spacing == 7.2
    custom = pacer_from_env({"MIGRATOR_GITHUB_CEILINGS": "10/1,100/60",
                             "MIGRATOR_GITHUB_MAX_WAIT": "30"})
    assert (custom.spacing, custom.max_wait) == (0.6, 30.0)
    for bad in ("80", "0/60", "x/1"):
        with pytest.raises(UserError, match="MIGRATOR_GITHUB_CEILINGS"):
            pacer_from_env({"MIGRATOR_GITHUB_CEILINGS": bad})


def test_bad_credentials_are_reported(
    github_server: GithubServer, tmp_path: Path,  # noqa: F811
) -> None:
    env = {"GITHUB_TOKEN": "ghp_wrong", "GITHUB_API_URL": github_server.api_url,
           "GITHUB_SERVER_URL": github_server.url}
    forge = github_forge_from_env(env)
    with pytest.raises(UserError, match="401"):
        forge.list_feedstocks()
    with pytest.raises(MigratorError, match="refused access|could not fetch"):
        forge.clone("abess-feedstock", None, tmp_path / "wc")
    assert not (tmp_path / "wc").exists()
