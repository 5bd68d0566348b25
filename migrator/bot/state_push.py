"""Committing the state directory back to the branch a scheduled run checked out.

`python -m migrator.bot.state_push BRANCH [--state state]` commits `state/` and pushes
it through `publish`: on a lost race the new tip is fetched and this run's state files
are laid over it again, so runs on other shards keep their commits. Never forced.
`STATE_PUSH_TOKEN`, when set, travels as an HTTP header in git's environment only.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from migrator.bot.git_origin import OriginRemote, credential_env
from migrator.core.branch_names import branch_problem
from migrator.core.errors import MigratorError
from migrator.core.git import GitError
from migrator.core.secret import Secret
from migrator.forges.publish import publish

MESSAGE = "Record migration state [ci skip] [skip ci]"
_SECRET_VARIABLES = ("STATE_PUSH_TOKEN", "GITHUB_TOKEN", "STAGING_BINSTAR_TOKEN",
                     "AZURE_DEVOPS_TOKEN")


def push_state(checkout: Path, *, state: str, branch: str, env: dict[str, str],
               attempts: int = 6) -> str | None:
    """Commit and push `checkout/state`; returns the pushed sha, or None if unchanged."""
    source = checkout / state
    with tempfile.TemporaryDirectory(prefix="state-") as scratch:
        snapshot = Path(scratch) / "state"
        shutil.copytree(source, snapshot, symlinks=True)

        def lay_over(tree: Path) -> bool:
            shutil.copytree(snapshot, tree / state, symlinks=True, dirs_exist_ok=True)
            return True

        secrets = [Secret(v) for v in map(os.environ.get, _SECRET_VARIABLES) if v]
        return publish(checkout, remote=OriginRemote(env), branch=branch, edit=lay_over,
                       message=MESSAGE, secrets=secrets, paths=[state], attempts=attempts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m migrator.bot.state_push",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("branch")
    parser.add_argument("--state", default="state", help="folder to commit (default: state)")
    args = parser.parse_args(argv)
    env = credential_env(os.environ.get("STATE_PUSH_TOKEN"),
                         os.environ.get("GITHUB_SERVER_URL", "https://github.com"))
    if branch_problem(args.branch) is not None:  # checked here: never handed to git
        print(f"state_push: error: {args.branch!r} is not a branch name", file=sys.stderr)
        return 2
    try:
        sha = push_state(Path.cwd(), state=args.state, branch=args.branch, env=env)
    except (MigratorError, GitError, OSError) as exc:
        print(f"state_push: {exc}; leaving it for the next run", file=sys.stderr)
        return 1
    print("state unchanged" if sha is None else f"state pushed ({sha[:12]})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
