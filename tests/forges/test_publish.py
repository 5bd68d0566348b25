"""The one commit-push-replay mechanism: never forced, a lost race replays the edit on the
new tip, token material is refused before anything is committed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from migrator.core.git import GitError, git, is_push_race
from migrator.core.secret import Secret
from migrator.forges import PushRejected
from migrator.forges.publish import LeakRefused, publish


class BareRemote:
    """A plain bare repository as the remote; counts pushes."""

    def __init__(self, url: Path) -> None:
        self.url = url
        self.pushes = 0

    def push(self, workdir: Path, branch: str) -> None:
        self.pushes += 1
        try:
            git("push", "-q", str(self.url), f"HEAD:refs/heads/{branch}", cwd=workdir)
        except GitError as exc:
            raise PushRejected(str(exc), race=is_push_race(exc.stderr)) from None

    def fetch(self, workdir: Path, branch: str) -> None:
        git("fetch", "-q", str(self.url), f"refs/heads/{branch}", cwd=workdir)


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    bare = tmp_path / "origin.git"
    git("init", "-q", "--bare", "-b", "main", str(bare))
    seed = tmp_path / "seed"
    git("clone", "-q", str(bare), str(seed))
    (seed / "a.txt").write_text("a\n")
    git("add", "-A", cwd=seed)
    git("commit", "-qm", "start", cwd=seed)
    git("push", "-q", "origin", "HEAD:main", cwd=seed)
    return bare


def clone(origin: Path, dest: Path) -> Path:
    git("clone", "-q", str(origin), str(dest))
    return dest


def log(origin: Path) -> list[str]:
    return git("log", "--format=%s", "main", cwd=origin).split("\n")[:-1]


def test_a_lost_race_replays_the_edit_on_the_new_tip(origin: Path, tmp_path: Path) -> None:
    ours, theirs = clone(origin, tmp_path / "ours"), clone(origin, tmp_path / "theirs")
    (theirs / "b.txt").write_text("theirs\n")
    git("add", "-A", cwd=theirs)
    git("commit", "-qm", "their change", cwd=theirs)
    git("push", "-q", "origin", "HEAD:main", cwd=theirs)
    applied = []

    def edit(tree: Path) -> bool:
        applied.append((tree / "b.txt").exists())
        (tree / "c.txt").write_text("ours\n")
        return True

    remote = BareRemote(origin)
    sha = publish(ours, remote=remote, branch="main", edit=edit, message="our change")
    assert applied == [False, True]  # the second time on top of their commit
    assert remote.pushes == 2 and sha == git("rev-parse", "main", cwd=origin).strip()
    assert log(origin) == ["our change", "their change", "start"]


def test_an_edit_the_other_writer_already_made_commits_nothing(
        origin: Path, tmp_path: Path) -> None:
    ours = clone(origin, tmp_path / "ours")

    def edit(tree: Path) -> bool:
        (tree / "a.txt").write_text("a\n")  # what is already there
        return True

    assert publish(ours, remote=BareRemote(origin), branch="main", edit=edit,
                   message="nothing") is None
    assert log(origin) == ["start"]


def test_token_material_is_refused_before_any_commit(origin: Path, tmp_path: Path) -> None:
    ours = clone(origin, tmp_path / "ours")
    token = Secret.new_token()

    def edit(tree: Path) -> bool:
        (tree / "leak.txt").write_text(f"value: {token.reveal()}\n")
        return True

    remote = BareRemote(origin)
    with pytest.raises(LeakRefused) as caught:
        publish(ours, remote=remote, branch="main", edit=edit, message="x", secrets=[token])
    assert token.reveal() not in str(caught.value)
    assert remote.pushes == 0 and log(origin) == ["start"]
    assert not (ours / "leak.txt").exists()  # the working copy is clean again
    assert git("log", "--format=%s", cwd=ours).split("\n")[:-1] == ["start"]
    with pytest.raises(LeakRefused):
        publish(ours, remote=remote, branch="main", edit=lambda t: (t / "z").write_text("z")
                or True, message=f"message with {token.reveal()}", secrets=lambda: [token])


def test_a_refused_push_is_not_retried(origin: Path, tmp_path: Path) -> None:
    hook = origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho protected >&2\nexit 1\n")
    hook.chmod(0o755)
    ours = clone(origin, tmp_path / "ours")
    remote = BareRemote(origin)
    with pytest.raises(PushRejected):
        publish(ours, remote=remote, branch="main",
                edit=lambda t: (t / "d.txt").write_text("d") or True, message="d")
    assert remote.pushes == 1


def test_the_message_can_depend_on_the_edit(origin: Path, tmp_path: Path) -> None:
    ours = clone(origin, tmp_path / "ours")
    seen: list[str] = []

    def edit(tree: Path) -> bool:
        seen.append("x")
        (tree / "e.txt").write_text("e")
        return True

    publish(ours, remote=BareRemote(origin), branch="main", edit=edit,
            message=lambda: f"edited {len(seen)} time(s)")
    assert log(origin)[0] == "edited 1 time(s)"
    out = subprocess.run(["git", "log", "-1", "--format=%an", "main"], cwd=origin,
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == "conda-forge-admin"
