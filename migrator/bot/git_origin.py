"""The checkout's `origin` as a publish remote for the state commit-back, with the push
credential passed in git's environment only."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import NamedTuple

from migrator.core.git import GitError, git, is_push_race
from migrator.forges import PushRejected


class OriginRemote(NamedTuple):
    """The checkout's `origin`, with the push credential in git's environment."""

    env: dict[str, str]

    def push(self, workdir: Path, branch: str) -> None:
        try:
            git("push", "-q", "origin", f"HEAD:refs/heads/{branch}", cwd=workdir, env=self.env)
        except GitError as exc:
            raise PushRejected(f"could not push the state to {branch}: {exc}",
                               race=is_push_race(exc.stderr)) from None

    def fetch(self, workdir: Path, branch: str) -> None:
        git("fetch", "-q", "origin", f"refs/heads/{branch}", cwd=workdir, env=self.env)


def credential_env(token: str | None, server: str) -> dict[str, str]:
    if not token:
        return {}
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": f"http.{server}/.extraheader",
            "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: basic {basic}"}
