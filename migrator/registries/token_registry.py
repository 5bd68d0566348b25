"""The token registry: a git repository with one file per feedstock, written in batches.

Changes are kept as operations (add these entries, expire those), not as file contents,
so that when a push loses a race to another run the operations are replayed on top of the
other run's commit and neither run loses the other's entries.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from migrator.core import templating
from migrator.core.secret import Secret
from migrator.forges import Forge, ForgeError
from migrator.forges.publish import publish
from migrator.forges.remotes import ForgeRemote
from migrator.registries import RegistryError
from migrator.registries import token_claims as claims
from migrator.registries import token_file as registry_file
from migrator.registries.token_hashing import Entry

REPO = "feedstock-tokens"
MAX_PUSH_ATTEMPTS = 8


def token_path(feedstock: str) -> str:
    """The registry file of a feedstock: its repository name as it is, case kept."""
    return f"tokens/{feedstock}.json"


class Change(NamedTuple):
    feedstock: str
    provider: str | None = None  # of the claim taken
    add: tuple[Entry, ...] = ()
    expire_salts: frozenset[str] = frozenset()
    expire_others: bool = False  # every entry not added or kept by this change
    keep_salts: frozenset[str] = frozenset()
    expires_at: float | None = None
    claim: str | None = None  # run id taking the claim on (feedstock, provider)
    release: str | None = None  # run id releasing its claims on the feedstock


def apply(entries: list[Entry], change: Change) -> list[Entry]:
    added = {e.salt for e in change.add}
    result = []
    for entry in entries:
        if entry.salt in added:
            continue
        others = change.expire_others and entry.salt not in change.keep_salts
        doomed = entry.salt in change.expire_salts or others
        if doomed and change.expires_at is not None and (
            entry.expires_at is None or entry.expires_at > change.expires_at
        ):
            entry = entry._replace(expires_at=change.expires_at)
        result.append(entry)
    return result + list(change.add)


class RegistryWriter:
    """Stages changes from many feedstocks and writes them as one commit per flush."""

    def __init__(self, forge: Forge, workroot: Path) -> None:
        self.forge = forge
        self.workroot = workroot
        self._pending: list[Change] = []
        self._lock = threading.Lock()
        self._workdir: Path | None = None

    def stage(self, change: Change) -> None:
        with self._lock:
            self._pending.append(change)

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def pending_feedstocks(self) -> list[str]:
        with self._lock:
            return sorted({c.feedstock for c in self._pending})

    def _clone(self) -> Path:
        if self._workdir is None:
            base = Path(tempfile.mkdtemp(prefix="feedstock-tokens-", dir=self.workroot))
            self.forge.clone(REPO, "main", base / "wc")
            self._workdir = base / "wc"
        return self._workdir

    def flush(self, *, secrets: Iterable[Secret] = ()) -> dict[str, str]:
        """Commit and push every staged change at once. Returns the feedstocks whose
        change was refused, with the reason; raises RegistryError when nothing could be
        written. Either way the staged changes are gone: the callers record the outcome,
        and a retry stages them again."""
        with self._lock:
            changes, self._pending = self._pending, []
        if not changes:
            return {}
        try:
            return self._write(changes, list(secrets))
        except BaseException:
            self._discard_workdir()  # it may hold an unpushed commit
            raise

    def _write(self, changes: list[Change], secrets: list[Secret]) -> dict[str, str]:
        workdir = self._clone()
        refused: dict[str, str] = {}

        def edit(checkout: Path) -> bool:
            refused.clear()
            now = time.time()
            for change in changes:
                path = checkout / token_path(change.feedstock)
                try:
                    current = self._read(path)
                except RegistryError as exc:  # one bad file refuses one feedstock
                    refused[change.feedstock] = str(exc)
                    continue
                if change.claim is not None and change.provider is not None:
                    busy = claims.take(
                        checkout / claims.claim_path(change.feedstock, change.provider),
                        run=change.claim, now=now)
                    if busy is not None:
                        refused[change.feedstock] = f"{change.provider}: {busy}"
                        continue
                if change.release is not None:
                    claims.release(checkout / "claims" / change.feedstock, run=change.release)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(registry_file.dump(apply(current, change), now=now))
            return True

        message = templating.render(
            "commit/token-registry.txt.j2", feedstocks=sorted({c.feedstock for c in changes}))
        try:
            publish(workdir, remote=ForgeRemote(self.forge, REPO), branch="main", edit=edit,
                    message=message, secrets=secrets, attempts=MAX_PUSH_ATTEMPTS)
        except ForgeError as exc:
            raise RegistryError(f"{REPO}: {exc}") from None
        return refused

    def _read(self, path: Path) -> list[Entry]:
        if not path.exists():
            return []
        return registry_file.parse(path.read_text(), where=f"{REPO}/{path.name}")

    def entries(self, feedstock: str) -> list[Entry]:
        """The feedstock's entries as of the last push (fetching first when nothing was
        written yet in this run)."""
        with self._lock:
            workdir = self._clone()
            return self._read(workdir / token_path(feedstock))

    def _discard_workdir(self) -> None:
        with self._lock:
            if self._workdir is not None:
                shutil.rmtree(self._workdir.parent, ignore_errors=True)
                self._workdir = None

    def close(self) -> None:
        self._discard_workdir()
