"""Branch names from repositories never become git options, and git never runs for ever.

Both forges' git paths are driven against real bare repositories: the local forge
directly, the GitHub forge's git (GitOverHttps) through a file:// server URL, which
honours `--upload-pack` exactly as the attack needs."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import pytest
from github import Auth

from migrator.core import branch_names, deadline
from migrator.core.branch_names import BadBranch, branch_problem
from migrator.core.git import GitTimeout, git
from migrator.forges import ForgeError, RepoInfo
from migrator.forges.github_connect import Unreachable
from migrator.forges.github_git import GitOverHttps
from migrator.forges.local import LocalForge
from migrator.forges.pacing import Pacer
from testing.hostile import add_branch, upload_pack_branch
from testing.seed import create_forge

REPO = "pkg00000-feedstock"
NAMES = [
    "main", "v1.x", "feature/x", "a-", "$x{y}", "é", "a@b", "a/HEAD", "refs/heads/x",
    "-x", "-", "--upload-pack=touch${IFS}/tmp/x", "HEAD", "x.lock", "a/b.lock/c", ".a",
    "a/.b", "a.", "a..b", "a b", "a\tb", "a~1", "a^", "a:b", "a?", "a*", "a[b", "a\\b",
    "@{x", "a@{-1}", "a/b/", "/a", "a//b", "a\x7fb", "a\x01",
]


def test_the_branch_check_agrees_with_git(tmp_path: Path) -> None:
    # outside any repository, so git cannot expand @{-1} and the like
    env = {"GIT_CEILING_DIRECTORIES": str(tmp_path.parent), "PATH": "/usr/bin:/bin"}
    for name in NAMES:
        by_git = subprocess.run(["git", "check-ref-format", "--branch", name], cwd=tmp_path,
                                env=env, capture_output=True).returncode == 0
        assert (branch_problem(name) is None) == by_git, name


def test_names_git_allows_but_the_bot_refuses() -> None:
    assert branch_problem("@") == "@ is not a branch"
    assert branch_problem("x" * 256) == "it is longer than 255 bytes"
    assert branch_problem("") == "it is empty"
    with pytest.raises(BadBranch) as info:
        branch_names.check_branch("--upload-pack=x", repo=REPO)
    assert str(info.value) == (f"branch '--upload-pack=x' of {REPO} is refused: "
                               "it starts with '-'")
    assert info.value.code == "bad-branch"


@pytest.fixture
def forge(tmp_path: Path) -> LocalForge:
    return create_forge(tmp_path / "forge", count=1, corpus_share=0, workers=1)


@pytest.fixture
def github_git(forge: LocalForge) -> GitOverHttps:
    """The GitHub forge's git, pointed at the local forge's repositories over file://."""
    (forge.root / "git" / forge.org).symlink_to(forge.root / "git")
    return GitOverHttps(org=forge.org, git_url=(forge.root / "git").as_uri(),
                        auth=Auth.Token("x" * 40), pacer=Pacer(), attempts=1)


def _attempts(forge: LocalForge, github_git: GitOverHttps, name: str, wc: Path) -> list:
    """Every way a branch name reaches git, on both forges."""
    return [
        lambda: forge.clone(REPO, name, wc / "a"),
        lambda: forge.fetch(wc / "main", REPO, name),
        lambda: forge.push(wc / "main", REPO, name),
        lambda: github_git.clone(REPO, name, wc / "b"),
        lambda: github_git.fetch(wc / "main", REPO, name),
        lambda: github_git.push(wc / "main", REPO, name),
    ]


def test_an_option_named_branch_is_refused_by_both_forges(
        forge: LocalForge, github_git: GitOverHttps, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    name = upload_pack_branch(marker)
    repo = RepoInfo(1, REPO, "main", False)
    assert forge.branches(repo) == github_git.branches(REPO) == ["main"]
    add_branch(forge, REPO, name)
    reason = f"branch {name!r} of {REPO} is refused: it starts with '-'"
    for listing in (lambda: forge.branches(repo), lambda: github_git.branches(REPO)):
        with pytest.raises(BadBranch) as info:
            listing()
        assert (str(info.value), info.value.code) == (reason, "bad-branch")
    forge.clone(REPO, "main", tmp_path / "wc" / "main")
    for attempt in _attempts(forge, github_git, name, tmp_path / "wc"):
        with pytest.raises(BadBranch, match="is refused: it starts with '-'"):
            attempt()
    assert github_git.traffic[REPO] == 2  # the two listings: no git ran with the name
    assert not marker.exists()


def test_without_the_check_the_name_is_still_no_option(
        forge: LocalForge, github_git: GitOverHttps, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The second line of defence: with the name check switched off, every command still
    takes the name as a ref after --end-of-options, never as an option."""
    marker = tmp_path / "ran"
    name = upload_pack_branch(marker)
    add_branch(forge, REPO, name)
    forge.clone(REPO, "main", tmp_path / "wc" / "main")
    monkeypatch.setattr(branch_names, "branch_problem", lambda name: None)
    for attempt in _attempts(forge, github_git, name, tmp_path / "wc"):
        try:
            attempt()
        except ForgeError:
            pass  # refused by git as a ref it cannot use: what matters is what ran
    assert not marker.exists()
    assert forge.read_file(REPO, "conda-forge.yml", ref="--output=x") is None


def test_a_hung_git_is_killed_with_its_children(tmp_path: Path) -> None:
    marker = tmp_path / "late"
    hang = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "alias.hang",
            "GIT_CONFIG_VALUE_0": f"!sleep 1; touch {marker}"}
    started = time.monotonic()
    with pytest.raises(GitTimeout, match="git hang failed: took longer than 0.2 s"):
        git("hang", env=hang, cwd=tmp_path, timeout=0.2)
    assert time.monotonic() - started < 0.9
    time.sleep(1.2)
    assert not marker.exists()  # the shell git started died with it


def test_git_ends_at_the_feedstock_deadline(tmp_path: Path) -> None:
    hang = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "alias.hang",
            "GIT_CONFIG_VALUE_0": "!sleep 5"}
    started = time.monotonic()
    with deadline.limited(0.1), pytest.raises(GitTimeout):
        git("hang", env=hang, cwd=tmp_path)  # the default timeout is ten minutes
    assert time.monotonic() - started < deadline.FLOOR + 1.0


def test_git_gives_up_on_a_server_it_cannot_connect_to(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = f"http://127.0.0.1:{port}"
    github_git = GitOverHttps(org="conda-forge", git_url=server, auth=Auth.Token("x" * 40),
                              pacer=Pacer(), connect_timeout=1.0)
    started = time.monotonic()
    with pytest.raises(Unreachable) as info:
        github_git.branches(REPO)
    assert time.monotonic() - started < 1.0 + 1.0
    message = str(info.value)  # curl's own words in the brackets differ between versions
    assert message.startswith(f"cannot reach {server} within 1 s (") and message.endswith(
        "); check the address, the network, or MIGRATOR_CONNECT_TIMEOUT"), message
    assert info.value.code == "unreachable"
