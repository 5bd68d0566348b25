"""The outputs registry as the service reads it: in memory, from its own clone.

"Who may publish this name" is answered from the clone (`fresh_reads`): a file read,
remembered until the clone moves on, never a process per lookup. A request is judged
on a `Snapshot` fetched at most `max_age` seconds earlier; a refusal only on one
fetched after the request arrived, so a name registered a moment ago is never refused.
Names the service has claimed but not yet committed (`claims`) count as registered to
their claimant.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from migrator.forges import Forge
from migrator.registries import outputs_registry as registry
from migrator.service.fresh_reads import FreshReads

REPO = registry.REPO


class Snapshot:
    def __init__(self, view: RegistryView, *, began: float, sha: str | None,
                 rules: registry.Rules) -> None:
        self.view, self.began, self.sha, self.rules = view, began, sha, rules

    def registered(self, name: str) -> list[str] | None:
        """The feedstocks `name` is registered to (its file, else a pending claim)."""
        path = registry.shard_path(name, self.rules.config)
        raw = self.view.files.read(path)
        if raw is not None:
            return registry.parse_entry(raw, where=f"{REPO}/{path}")
        claimant = self.view.pending(name.lower())
        return None if claimant is None else [claimant]

    def ownership(self, *, feedstock: str, name: str) -> registry.Ownership:
        return registry.judge(feedstock=feedstock, name=name, rules=self.rules,
                              listed=self.registered(name))


class RegistryView:
    def __init__(self, forge: Forge, folder: Path, *, max_age: float = 5.0,
                 pending: Callable[[str], str | None] = lambda name: None) -> None:
        self.files = FreshReads(forge, folder, repo=REPO, max_age=max_age)
        self.pending = pending
        self._snap: Snapshot | None = None

    @property
    def fetches(self) -> int:
        return self.files.fetches

    def snapshot(self, *, newer_than: float | None = None) -> Snapshot:
        """The rules and names as a fetch that began after `newer_than` (by default at
        most `max_age` seconds ago) left them."""
        generation = self.files.refresh(newer_than=newer_than)
        snap = self._snap
        if snap is None or generation.began != snap.began:
            rules = snap.rules if snap is not None and snap.sha == generation.sha else (
                registry.Rules(registry.parse_config(self.files.read(registry.CONFIG)),
                               registry.parse_allowlist(self.files.read(registry.ALLOWLIST))))
            snap = self._snap = Snapshot(self, began=generation.began, sha=generation.sha,
                                         rules=rules)
        return snap

    def close(self) -> None:
        self.files.close()
