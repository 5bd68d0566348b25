"""The one way anything is committed and pushed: change, commit, push, and when the push
loses a race, fetch the new tip, apply the change again on top of it and retry. Never
forced, so a concurrent writer's commit is always kept. Before every commit the change
and the message are checked for token material.

It comes in two forms. `publish` works in a working copy: both registries and the state
commit-back use it, differing only in their `edit` and their `Remote`. `publish_commits`
needs no working tree: a feedstock branch is fetched once into a scratch repository,
its commits are written there in-process (`gittrees`) and pushed together, so a
feedstock costs one fetch and one push.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple, Protocol

from migrator.core.git import git
from migrator.core.gitobjects import ObjectStore
from migrator.core.gittrees import Change, edit_tree, write_commit
from migrator.core.secret import Secret
from migrator.feedstock.commit_files import CommitFiles
from migrator.forges import ForgeError, PushRejected
from migrator.forges.remotes import Remote

Edit = Callable[[Path], bool]  # changes the working copy; False when nothing is needed
Secrets = Iterable[Secret] | Callable[[], Iterable[Secret]]


class LeakRefused(ForgeError):
    """The change or its message holds token material; nothing was committed."""


def publish(
    workdir: Path, *, remote: Remote, branch: str, edit: Edit,
    message: str | Callable[[], str],
    secrets: Secrets = (),
    paths: Sequence[str] = (), attempts: int = 5,
    env: Mapping[str, str] | None = None,
) -> str | None:
    """Apply `edit`, commit it with `message` (or what `message()` says after the edit)
    and push to `branch`. Returns the pushed
    commit's sha, or None when `edit` found nothing to change (also after a replay:
    the other writer may have made our change already). `paths` limits what is
    committed (default: everything)."""
    for _ in range(attempts):
        if not edit(workdir):
            _discard(workdir, paths)
            return None
        git("add", "-A", "--", *(paths or ["."]), cwd=workdir)
        staged = git("diff", "--cached", "--no-color", "--no-ext-diff", cwd=workdir)
        if not staged:
            return None
        text = message() if callable(message) else message
        try:
            refuse_leaks([staged, text], secrets)
        except LeakRefused:
            _discard(workdir, paths)
            raise
        git("commit", "-q", "--no-verify", "-F", "-", cwd=workdir, input=text.encode(), env=env)
        try:
            remote.push(workdir, branch)
            return git("rev-parse", "HEAD", cwd=workdir).strip()
        except PushRejected as exc:
            if not exc.race:
                raise
        remote.fetch(workdir, branch)
        git("reset", "--hard", "-q", "FETCH_HEAD", cwd=workdir)
    raise ForgeError(f"{branch} kept moving; gave up after {attempts} push attempts")


def refuse_leaks(pieces: Iterable[str | bytes], secrets: Secrets) -> None:
    pieces = list(pieces)
    for secret in secrets() if callable(secrets) else secrets:
        value = secret.reveal()
        raw = value.encode("utf-8")
        if any(raw in piece if isinstance(piece, bytes) else value in piece
               for piece in pieces):
            raise LeakRefused("refused to push: the change contains token material")


def _discard(workdir: Path, paths: Sequence[str]) -> None:
    git("reset", "--hard", "-q", cwd=workdir)
    git("clean", "-fdq", "--", *(paths or ["."]), cwd=workdir)


TreeEdit = Callable[[CommitFiles], Mapping[str, Change]]  # {} when nothing is needed


class Commit(NamedTuple):
    """One commit of a `publish_commits` series: what it changes, and its message (or
    what `message()` says after the edit)."""

    edit: TreeEdit
    message: str | Callable[[], str]


class BranchTip(Protocol):
    """A scratch repository for one repository's branches."""

    objects: ObjectStore

    def fetch(self, branch: str) -> CommitFiles:
        """Fetch `branch`; its tip's files."""
        ...

    def push(self, commit: str, branch: str) -> None:
        """Push `commit` to `branch`; `PushRejected(race=True)` when someone pushed first."""
        ...


def publish_commits(
    scratch: BranchTip, *, branch: str, commits: Sequence[Commit], secrets: Secrets = (),
    tip: CommitFiles | None = None, attempts: int = 5,
) -> list[str]:
    """Write `commits` one on top of the other from the tip of `branch` (`tip` when the
    caller fetched it already) and push them with one push. An edit that changes
    nothing makes no commit. Returns the pushed commits, oldest first ([] when no edit
    changed anything, also after a replay: the other writer may have made the change)."""
    for _ in range(attempts):
        head = tip if tip is not None else scratch.fetch(branch)
        made: list[str] = []
        for commit in commits:
            changes = dict(commit.edit(head))
            if not changes:
                continue
            text = commit.message() if callable(commit.message) else commit.message
            refuse_leaks([text, *(data for data in changes.values() if data is not None)],
                         secrets)
            tree = edit_tree(scratch.objects, head.tree, changes)
            if tree == head.tree:
                continue
            oid = write_commit(scratch.objects, tree, head.commit, text)
            head = CommitFiles(scratch.objects, oid, tree=tree)
            made.append(oid)
        if not made:
            return []
        try:
            scratch.push(head.commit, branch)
            return made
        except PushRejected as exc:
            if not exc.race:
                raise
        tip = None
    raise ForgeError(f"{branch} kept moving; gave up after {attempts} push attempts")
