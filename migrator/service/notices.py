"""Which notices the maintainers were already given, so that CI sending the same failing
request again (a restarted job, a retry loop) does not bring a second comment.

One marker per (repository, commit, reason), claimed by creating its file exclusively,
so two requests racing for the same marker cannot both comment:

    notices/<ab>/<sha256 of repo, commit and reason>.json   {"repo", "sha", "reason", "at"}

A claim whose comment could not be posted is released, so a later request can try again.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path


class NoticeLog:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, repo: str, sha: str, reason: str) -> Path:
        digest = hashlib.sha256(f"{repo}\0{sha}\0{reason}".encode()).hexdigest()
        return self.root / digest[:2] / f"{digest}.json"

    def given(self, repo: str, sha: str, reason: str) -> bool:
        return self._path(repo, sha, reason).is_file()

    def claim(self, repo: str, sha: str, reason: str) -> bool:
        """True when this caller is the one to give the notice."""
        path = self._path(repo, sha, reason)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"repo": repo, "sha": sha, "reason": reason, "at": time.time()}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        return True

    def release(self, repo: str, sha: str, reason: str) -> None:
        self._path(repo, sha, reason).unlink(missing_ok=True)
