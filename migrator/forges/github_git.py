"""git over HTTPS for the GitHub forge: clones, fetches, pushes and branch listings.

Every command gets the current token in its environment (see `gitauth`); a failure of
the server or the network is tried again, a refusal is reported at once.
"""

from __future__ import annotations

import shutil
import threading
from collections import Counter
from pathlib import Path

from github.Auth import Auth

from migrator.core.git import GitError, clone_args, git, is_push_race
from migrator.forges import ForgeError, PushRejected
from migrator.forges.gitauth import auth_env, is_transient, repo_url
from migrator.forges.github_http import ATTEMPTS, delay
from migrator.forges.pacing import Pacer


class GitOverHttps:
    def __init__(self, *, org: str, git_url: str, auth: Auth, pacer: Pacer,
                 attempts: int = ATTEMPTS, backoff: float = 1.0) -> None:
        self.org, self.git_url = org, git_url.rstrip("/")
        self._auth, self._pacer = auth, pacer
        self.attempts, self.backoff = attempts, backoff
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
        for attempt in range(1, self.attempts + 1):
            with self._count_lock:
                self.traffic[repo] += 1
            try:
                return git(*args, cwd=cwd, env=auth_env(self.git_url, self._token()))
            except GitError as exc:
                if attempt == self.attempts or not is_transient(exc.stderr):
                    raise
                self._pacer.note_fault("git")
                if fresh_dir is not None:
                    shutil.rmtree(fresh_dir, ignore_errors=True)
                self._pacer.backoff(delay(self.backoff, attempt))
        raise AssertionError("unreachable")

    def branches(self, repo: str) -> list[str]:
        try:
            out = self._run(repo, "ls-remote", "--heads", self.url(repo))
        except GitError as exc:
            raise ForgeError(_fetch_reason(repo, None, exc)) from None
        prefix = "refs/heads/"
        return sorted(line.split("\t", 1)[1][len(prefix):] for line in out.splitlines()
                      if "\t" in line and line.split("\t", 1)[1].startswith(prefix))

    def clone(self, repo: str, branch: str | None, dest: Path, *, depth: int | None = 1) -> None:
        args = clone_args(branch, depth)
        fresh = None if Path(dest).exists() else Path(dest)
        try:
            self._run(repo, *args, self.url(repo), str(dest), fresh_dir=fresh)
        except GitError as exc:
            raise ForgeError(_fetch_reason(repo, branch, exc)) from None
        try:
            git("rev-parse", "--verify", "--quiet", "HEAD", cwd=Path(dest))
        except GitError:
            raise ForgeError(f"{repo} is empty: it has no commits") from None

    def fetch(self, workdir: Path, repo: str, branch: str, *, depth: int | None = 1) -> None:
        args = ["fetch", "--quiet", "--no-tags"]
        if depth is not None:
            args += ["--depth", str(depth)]
        try:
            self._run(repo, *args, self.url(repo), branch, cwd=workdir)
        except GitError as exc:
            raise ForgeError(_fetch_reason(repo, branch, exc)) from None

    def push(self, workdir: Path, repo: str, branch: str) -> None:
        # a push retried after a lost answer finds the branch already there: no change
        try:
            self._run(repo, "push", "--quiet", self.url(repo), f"HEAD:refs/heads/{branch}",
                      cwd=workdir)
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
