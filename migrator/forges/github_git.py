"""git over HTTPS for the GitHub forge: clones, fetches, pushes and branch listings.

Every command gets the current token in its environment (see `gitauth`); a failure of
the server or the network is tried again, a refusal is reported at once, and a server
that cannot be connected to within the connect timeout is `Unreachable`.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections import Counter
from pathlib import Path

from github.Auth import Auth

from migrator.core import deadline
from migrator.core import git as gitcmd
from migrator.core.branch_names import usable_branches
from migrator.core.git import GitError, git, is_push_race
from migrator.forges import ForgeError, PushRejected
from migrator.forges.gitauth import auth_env, is_transient, never_connected, repo_url
from migrator.forges.github_connect import CONNECT_TIMEOUT, Unreachable
from migrator.forges.github_http import ATTEMPTS, delay
from migrator.forges.pacing import Pacer


class GitOverHttps:
    def __init__(self, *, org: str, git_url: str, auth: Auth, pacer: Pacer,
                 attempts: int = ATTEMPTS, backoff: float = 1.0,
                 connect_timeout: float = CONNECT_TIMEOUT) -> None:
        self.org, self.git_url = org, git_url.rstrip("/")
        self._auth, self._pacer = auth, pacer
        self.attempts, self.backoff = attempts, backoff
        self.connect_timeout = connect_timeout
        self._token_lock = threading.Lock()
        self._count_lock = threading.Lock()
        self.traffic: Counter[str] = Counter()  # git commands run, by repository

    def url(self, repo: str) -> str:
        return repo_url(self.git_url, self.org, repo)

    def _token(self) -> str:
        # an App installation token is renewed here when it is about to expire; one
        # thread renews it, the others wait for the new one
        with self._token_lock:
            return self._auth.token

    def _run(self, repo: str, *args: str, cwd: Path | None = None,
             fresh_dir: Path | None = None) -> str:
        failing_since: float | None = None  # first attempt that could not connect
        for attempt in range(1, self.attempts + 1):
            with self._count_lock:
                self.traffic[repo] += 1
            tried = time.monotonic()
            try:
                return git(*args, cwd=cwd, env=auth_env(self.git_url, self._token()))
            except GitError as exc:
                wait = delay(self.backoff, attempt)
                if never_connected(exc.stderr):
                    failing_since = tried if failing_since is None else failing_since
                    left = self.connect_timeout - (time.monotonic() - failing_since)
                    if left <= 0:
                        why = exc.stderr.splitlines()[-1].rsplit(": ", 1)[-1]
                        raise Unreachable(self.git_url, self.connect_timeout, why) from None
                    wait = min(wait, left)
                if attempt == self.attempts or not is_transient(exc.stderr):
                    raise
                self._pacer.note_fault("git")
                if fresh_dir is not None:
                    shutil.rmtree(fresh_dir, ignore_errors=True)
                with deadline.paused():  # the server's trouble, not the feedstock's time
                    self._pacer.backoff(wait)
        raise AssertionError("unreachable")

    def branches(self, repo: str) -> list[str]:
        """Every branch; BadBranch naming the first whose name git must never see."""
        try:
            out = self._run(repo, "ls-remote", "--heads", "--end-of-options", self.url(repo))
        except GitError as exc:
            raise ForgeError(_fetch_reason(repo, None, exc)) from None
        prefix = "refs/heads/"
        names = sorted(line.split("\t", 1)[1][len(prefix):] for line in out.splitlines()
                       if "\t" in line and line.split("\t", 1)[1].startswith(prefix))
        return usable_branches(repo, names)

    def clone(self, repo: str, branch: str | None, dest: Path, *, depth: int | None = 1) -> None:
        args = gitcmd.clone_args(branch, depth, self.url(repo), dest)
        fresh = None if Path(dest).exists() else Path(dest)
        try:
            self._run(repo, *args, fresh_dir=fresh)
        except GitError as exc:
            raise ForgeError(_fetch_reason(repo, branch, exc)) from None
        try:
            git("rev-parse", "--verify", "--quiet", "HEAD", cwd=Path(dest))
        except GitError:
            raise ForgeError(f"{repo} is empty: it has no commits") from None

    def fetch(self, workdir: Path, repo: str, branch: str, *, depth: int | None = 1) -> None:
        args = gitcmd.fetch_args(self.url(repo), branch, depth)
        try:
            self._run(repo, *args, cwd=workdir)
        except GitError as exc:
            raise ForgeError(_fetch_reason(repo, branch, exc)) from None

    def push(self, workdir: Path, repo: str, branch: str) -> None:
        # a push retried after a lost answer finds the branch already there: no change
        args = gitcmd.push_args(self.url(repo), branch)
        try:
            self._run(repo, *args, cwd=workdir)
        except GitError as exc:
            raise _push_error(repo, branch, exc) from None


def _fetch_reason(repo: str, branch: str | None, exc: GitError) -> str:
    text = exc.stderr
    if branch and ("not found in upstream" in text or "couldn't find remote ref" in text):
        return f"branch {branch!r} does not exist in {repo}"
    if "Repository not found" in text or ("repository '" in text and "not found" in text):
        return f"{repo} does not exist"
    if "returned error: 401" in text or "returned error: 403" in text or "Authentication" in text:
        return f"GitHub refused access to {repo}: {exc}"
    return f"could not fetch {repo}: {exc}"


def _push_error(repo: str, branch: str, exc: GitError) -> PushRejected:
    text = exc.stderr
    if is_push_race(text):
        return PushRejected(f"{repo}@{branch} moved while we worked", race=True)
    remote = next((ln[7:].strip() for ln in text.splitlines()
                   if ln.startswith("remote:") and ln[7:].strip()), "")
    detail = f": {remote}" if remote else ""
    if "remote rejected" in text or "returned error: 403" in text:
        return PushRejected(f"GitHub refused the push to {repo}@{branch}{detail}", race=False)
    return PushRejected(f"push to {repo}@{branch} failed: {exc}", race=False)
