"""The one way anything is committed and pushed: change, commit, push, and when the push
loses a race, fetch the new tip, apply the change again on top of it and retry. Never
forced, so a concurrent writer's commit is always kept. Before every commit the staged
diff and the message are checked for token material.

Working copies of feedstocks, both registries and the state commit-back all go
through `publish`; they differ only in their `edit` and their `Remote`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from migrator.core.git import git
from migrator.core.secret import Secret
from migrator.forges import ForgeError, PushRejected
from migrator.forges.remotes import Remote

Edit = Callable[[Path], bool]  # changes the working copy; False when nothing is needed


class LeakRefused(ForgeError):
    """The change or its message holds token material; nothing was committed."""


def publish(
    workdir: Path, *, remote: Remote, branch: str, edit: Edit,
    message: str | Callable[[], str],
    secrets: Iterable[Secret] | Callable[[], Iterable[Secret]] = (),
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
        _refuse_leaks(workdir, paths, staged, text, secrets() if callable(secrets) else secrets)
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


def _refuse_leaks(workdir: Path, paths: Sequence[str], staged: str, message: str,
                  secrets: Iterable[Secret]) -> None:
    for secret in secrets:
        value = secret.reveal()
        if value in staged or value in message:
            _discard(workdir, paths)
            raise LeakRefused("refused to push: the change contains token material")


def _discard(workdir: Path, paths: Sequence[str]) -> None:
    git("reset", "--hard", "-q", cwd=workdir)
    git("clean", "-fdq", "--", *(paths or ["."]), cwd=workdir)
