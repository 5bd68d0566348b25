"""Names the service owes to the outputs registry, committed in batches off the
request path.

A name first published on the strength of an allowlist glob (or `auto_register_all`)
is registered to its publisher, so that no other feedstock can take it later. The
request records the claim in the journal before it is answered; from then on the
claim counts as registered (`owner`). A background thread gathers claims for `delay`
seconds and commits all of them at once: one commit and one push for many names,
however many requests made them. A crash loses nothing: the journal keeps every claim
until a commit holds it, and `flush` (called by `recover`, and by `close`) commits
whatever is recorded, another process's leftovers included.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from migrator.core import failpoints
from migrator.core.files import locked
from migrator.forges import Forge
from migrator.registries.outputs_writer import register_outputs
from migrator.service.journal import Journal

log = logging.getLogger(__name__)
RETRY_AFTER = (5.0, 30.0, 120.0)  # after a failed commit: the forge may be down


class ClaimBook:
    def __init__(self, forge: Forge, journal: Journal, workdir: Path, *, delay: float,
                 committed: Callable[[], None] = lambda: None) -> None:
        """`committed` is called after each commit, before the claims stop counting
        (the registry view fetches then, to find them in the registry itself)."""
        self.forge = forge
        self.journal = journal
        self.workdir = Path(workdir)
        self.delay = delay
        self.committed = committed
        self.commits = 0
        self._pending: dict[str, str] = {}  # name -> claimant (feedstock)
        self._lock = threading.Lock()
        self._committing = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        for claim in journal.claims.pending().values():
            self._note(claim["feedstock"], claim["names"])

    def owner(self, name: str) -> str | None:
        with self._lock:
            return self._pending.get(name)

    def add(self, request_id: str, feedstock: str, names: list[str]) -> None:
        """Record the claim (durably: it survives a crash from here on) and have it
        committed soon."""
        self.journal.claims.record(request_id, feedstock, names)
        self._note(feedstock, names)
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, daemon=True,
                                                name="outputs-claims")
                self._thread.start()
        self._wake.set()

    def flush(self) -> int:
        """Commit every recorded claim now; how many requests' claims were committed.
        Raises what the commit raised (the claims stay recorded)."""
        with self._committing, locked(self.workdir / "claims.lock"):
            claims = self.journal.claims.pending()
            if not claims:
                return 0
            wanted: dict[str, list[str]] = {}
            seen: set[str] = set()
            for claim in claims.values():  # the first claim of a name wins it
                names = [n for n in claim["names"] if n not in seen]
                seen.update(names)
                if names:
                    wanted.setdefault(claim["feedstock"], []).extend(names)
            failpoints.reached("outputs-claims-commit")
            results = register_outputs(self.forge, wanted, workdir=self.workdir)
            if any(result.added for result in results.values()):
                self.commits += 1
            for result in results.values():
                for name, owners in result.taken:
                    log.warning("%s was published by %s-feedstock but is registered to "
                                "%s meanwhile", name, result.feedstock, ", ".join(owners))
            try:
                self.committed()
            except Exception as exc:
                log.warning("could not read the outputs registry after a commit: %s", exc)
            self.journal.claims.drop(claims)
            with self._lock:
                for name in seen:
                    self._pending.pop(name, None)
            return len(claims)

    def close(self) -> None:
        """Stop the background thread, committing what is recorded first."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
        try:
            self.flush()
        except Exception as exc:
            log.warning("claims left for the next start to commit: %s", exc)

    def _note(self, feedstock: str, names: list[str]) -> None:
        with self._lock:
            for name in names:
                self._pending.setdefault(name, feedstock)

    def _loop(self) -> None:
        failures = 0
        while not self._stop.is_set():
            self._wake.wait()
            if self._stop.wait(self.delay):  # let more claims gather; or closing
                return
            self._wake.clear()
            try:
                self.flush()
                failures = 0
            except Exception as exc:
                pause = RETRY_AFTER[min(failures, len(RETRY_AFTER) - 1)]
                failures += 1
                log.warning("could not commit claims to the outputs registry (trying again "
                            "in %.0f s): %s", pause, exc)
                if self._stop.wait(pause):
                    return
                self._wake.set()
