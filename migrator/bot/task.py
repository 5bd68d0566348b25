"""What a step sees: the run's shared context and one feedstock's task."""

from __future__ import annotations

import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migrator.bot.outcomes import StepFailed
from migrator.bot.state import FeedstockRecord
from migrator.core.secret import Secret
from migrator.forges import Forge, RepoInfo


@dataclass
class Options:
    all_branches: bool = False
    retry_failed: bool = False
    jobs: int = 4
    batch_size: int = 50
    grace_seconds: float = 6.5 * 3600
    renderer: str = "builtin"
    provider: str = "github_actions"
    time_budget: float | None = None
    max_feedstocks: int | None = None


@dataclass
class RunContext:
    forge: Forge
    options: Options
    workroot: Path
    shared: dict[str, Any] = field(default_factory=dict)  # per-run caches and batchers
    lock: threading.Lock = field(default_factory=threading.Lock)
    _secrets: list[Secret] = field(default_factory=list)

    def remember_secret(self, secret: Secret) -> None:
        """Every plain token of this run, so pushes can be checked for leaks."""
        with self.lock:
            self._secrets.append(secret)

    def secrets(self) -> list[Secret]:
        with self.lock:
            return list(self._secrets)

    def forget_secret(self, secret: Secret) -> None:
        with self.lock:
            self._secrets = [s for s in self._secrets if s is not secret]


@dataclass
class FeedstockTask:
    context: RunContext
    repo: RepoInfo
    record: FeedstockRecord
    branch: str | None = None
    memory: dict[str, Any] = field(default_factory=dict)
    _workdirs: dict[str, Path] = field(default_factory=dict)

    @property
    def forge(self) -> Forge:
        return self.context.forge

    @property
    def current_branch(self) -> str:
        if self.branch is None:
            raise StepFailed("internal: a branch step ran without a branch")
        return self.branch

    def workdir(self, branch: str | None = None) -> Path:
        """A shallow single-branch clone, made on first use and reused by later steps."""
        branch = branch or self.current_branch
        if branch not in self._workdirs:
            base = Path(tempfile.mkdtemp(prefix=f"{self.repo.name}-", dir=self.context.workroot))
            dest = base / "wc"
            self.forge.clone(self.repo.name, branch, dest)
            self._workdirs[branch] = dest
        return self._workdirs[branch]

    def drop_workdir(self, branch: str) -> None:
        path = self._workdirs.pop(branch, None)
        if path is not None:
            shutil.rmtree(path.parent, ignore_errors=True)

    def cleanup(self) -> None:
        for branch in list(self._workdirs):
            self.drop_workdir(branch)
        self.memory.clear()
