"""What a step sees: the run's context and one feedstock's task, each carrying the
migration's own typed data (`RunContext.data`, `FeedstockTask.data`)."""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from migrator.bot.outcomes import StepFailed
from migrator.bot.state import FeedstockRecord
from migrator.core.secret import Secret
from migrator.forges import Forge, RepoInfo
from migrator.forges.ci_secrets import CISecretStore

R = TypeVar("R")
F = TypeVar("F")

RENDERERS = ("patch", "auto", "conda-smithy", "none")


@dataclass(frozen=True)
class Options:
    all_branches: bool = False
    retry_failed: bool = False
    jobs: int = 4
    batch_size: int = 50
    grace_seconds: float = 6.5 * 3600
    renderer: str = "patch"
    time_budget: float | None = None
    max_feedstocks: int | None = None
    run_id: str = "local"  # who holds a registry claim: the state directory's identity
    max_render_lines: int = 3000  # a full conda-smithy rerender larger than this is refused
    feedstock_timeout: float | None = 300.0  # seconds one feedstock's steps may take in a run


@dataclass
class RunContext(Generic[R]):
    forge: Forge
    stores: Mapping[str, CISecretStore]
    options: Options
    workroot: Path
    data: R
    lock: threading.Lock = field(default_factory=threading.Lock)
    _secrets: list[Secret] = field(default_factory=list)

    def store(self, provider: str) -> CISecretStore:
        try:
            return self.stores[provider]
        except KeyError:
            raise StepFailed(f"no CI secret store for {provider}") from None

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
class FeedstockTask(Generic[R, F]):
    context: RunContext[R]
    repo: RepoInfo
    record: FeedstockRecord
    data: F
    retry: bool = False  # a failed step may run again (once per run)
    branch: str | None = None  # of the current `branch` step
    provider: str | None = None  # of the current `provider` step
    staged: str | None = None  # the batched step waiting for the flush
    spent: float = 0.0  # seconds its steps ran in this run (waits for the batch excluded)
    _workdirs: dict[str, Path] = field(default_factory=dict)

    @property
    def forge(self) -> Forge:
        return self.context.forge

    @property
    def current_branch(self) -> str:
        if self.branch is None:
            raise StepFailed("internal: a branch step ran without a branch")
        return self.branch

    @property
    def current_provider(self) -> str:
        if self.provider is None:
            raise StepFailed("internal: a provider step ran without a provider")
        return self.provider

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
