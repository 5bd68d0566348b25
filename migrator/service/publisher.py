"""Publishing checked outputs from quarantine to production, in groups.

Requests that have outputs ready at the same time are published together (a group
commit, `grouping`): one copy into production for all of them, so one sync of each
directory written to and one repodata update per subdir, however many requests the
group holds. Each request waits for the group its outputs went into, then finds out
for each whether it landed: whether production now holds the checked bytes.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from migrator.channels.base import Channel
from migrator.channels.dists import Dist
from migrator.channels.local_store import Identity, Incoming, is_local
from migrator.service.grouping import GroupCommit

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Channels:
    staging: Channel
    quarantine: Channel
    production: Channel


class Ready(NamedTuple):
    """An output checked, held in quarantine and verified there: ready to publish."""

    dist: Dist
    sha256: str
    record: dict[str, Any] | None  # its repodata record; None: quarantine's own
    identity: Identity | None = None  # of quarantine's copy, when it is on this disk


class Publisher:
    def __init__(self, channels: Channels, *, gather: float = 0.1) -> None:
        """A group waits up to `gather` seconds for the requests still checking their
        files (those inside `preparing`) to be ready too."""
        self.channels = channels
        self.group: GroupCommit[tuple[Ready, str], None] = GroupCommit(self._run,
                                                                       gather=gather)

    def preparing(self) -> contextlib.AbstractContextManager[None]:
        """Held by a request from the moment it holds its locks until it has published."""
        return self.group.coming()

    def publish(self, ready: Sequence[Ready], *, label: str) -> list[bool]:
        """Publish under `label`; for each output, whether production holds it now.
        Between local channels each request places its own files (the links and their
        records, side by side with other requests) and the group only makes them
        durable and listed."""
        quarantine, production = self.channels.quarantine, self.channels.production
        if is_local(quarantine) and is_local(production):
            # quarantine's copy is linked again, compared with the identity it was
            # checked with (a copy of unknown identity is vouched for by quarantine)
            try:
                production.place_many([
                    Incoming(quarantine.path(i.dist), i.dist, i.record, i.identity)
                    if i.identity is not None and i.record is not None
                    else quarantine.outgoing(i.dist, i.record) for i in ready],
                    labels={label})
            except Exception:  # what did land is found below; the rest is retried
                log.exception("placing %s failed", ", ".join(i.dist.key for i in ready))
        try:
            self.group.submit([(item, label) for item in ready])
        except Exception:  # the sync or the repodata update: not listed, so not done
            log.exception("publishing %s failed", ", ".join(i.dist.key for i in ready))
            return [False] * len(ready)
        return [self._landed(item) for item in ready]

    def _run(self, items: list[tuple[Ready, str]]) -> list[None]:
        quarantine, production = self.channels.quarantine, self.channels.production
        if is_local(quarantine) and is_local(production):
            production.publish_subdirs({item.dist.subdir for item, _ in items})
            return [None] * len(items)
        by_label: dict[str, list[Ready]] = {}
        for item, label in items:
            by_label.setdefault(label, []).append(item)
        for label, ready in sorted(by_label.items()):
            records = {i.dist.key: i.record for i in ready if i.record is not None}
            try:
                quarantine.copy_to(production, [i.dist for i in ready], labels={label},
                                   records=records)
            except Exception:  # what did land is found by each request; the rest is retried
                log.exception("publishing %s failed", ", ".join(i.dist.key for i in ready))
        return [None] * len(items)

    def _landed(self, item: Ready) -> bool:
        try:
            found = self.channels.production.info(item.dist)
        except Exception:
            log.exception("could not look up %s after publishing it", item.dist.key)
            return False
        return found is not None and found.hashes.sha256 == item.sha256
