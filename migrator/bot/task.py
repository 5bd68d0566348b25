"""What a step sees: the run's context and one feedstock's task, each carrying the
migration's own typed data (`RunContext.data`, `FeedstockTask.data`)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from migrator.bot.outcomes import StepFailed
from migrator.bot.state import FeedstockRecord
from migrator.core.secret import Secret
from migrator.feedstock.commit_files import CommitFiles
from migrator.forges import Forge, RepoInfo
from migrator.forges.ci_secrets import CISecretStore
from migrator.forges.scratch import ForgeScratch, ScratchPool
from migrator.rerender import Renderer, get_renderer
from migrator.rerender.working_copy import rendered_files

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
    _scratch_pool: ScratchPool | None = None

    @property
    def scratch_pool(self) -> ScratchPool:
        with self.lock:
            if self._scratch_pool is None:
                self._scratch_pool = ScratchPool(self.workroot)
            return self._scratch_pool

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
    # batched steps awaiting the flush, with the registry each writes to
    staged: dict[str, str] = field(default_factory=dict)
    spent: float = 0.0  # seconds its steps ran in this run (waits for the batch excluded)
    _scratch: ForgeScratch | None = None
    _tips: dict[str, CommitFiles] = field(default_factory=dict)
    _rendered: dict[str, dict[str, bytes]] = field(default_factory=dict)
    _renderer: Renderer | None = None

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

    def scratch(self) -> ForgeScratch:
        """The feedstock's scratch repository, made on first use."""
        if self._scratch is None:
            self._scratch = ForgeScratch(self.forge, self.repo.name,
                                         self.context.scratch_pool.take())
        return self._scratch

    def tip(self, branch: str | None = None) -> CommitFiles:
        """The files at the tip of `branch` (default: the current branch step's), fetched
        on first use and shared by every step that reads them."""
        branch = branch or self.current_branch
        if branch not in self._tips:
            self._tips[branch] = self.scratch().fetch(branch)
        return self._tips[branch]

    def rendered(self, files: CommitFiles) -> dict[str, bytes]:
        """`rendered_files` of a commit, read once per run."""
        if files.commit not in self._rendered:
            self._rendered[files.commit] = rendered_files(files)
        return self._rendered[files.commit]

    def renderer(self) -> Renderer:
        """The run's chosen renderer, one per feedstock (it remembers its last answer)."""
        if self._renderer is None:
            self._renderer = get_renderer(self.context.options.renderer)
        return self._renderer

    def forget_tip(self, branch: str) -> None:
        """The branch moved (we pushed to it): a later read fetches it again."""
        self._tips.pop(branch, None)

    def cleanup(self) -> None:
        if self._scratch is not None:
            self.context.scratch_pool.give_back(self._scratch.objects)
            self._scratch = None
        self._tips.clear()
        self._rendered.clear()
        self._renderer = None
