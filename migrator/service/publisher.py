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


class Publisher:
    def __init__(self, channels: Channels, *, gather: float = 0.1) -> None:
        """A group waits up to `gather` seconds for the requests still checking their
        files (those inside `preparing`) to be ready too."""
        self.channels = channels
        self.group: GroupCommit[tuple[Ready, str], bool] = GroupCommit(self._run,
                                                                       gather=gather)

    def preparing(self) -> contextlib.AbstractContextManager[None]:
        """Held by a request from the moment it holds its locks until it has published."""
        return self.group.coming()

    def publish(self, ready: Sequence[Ready], *, label: str) -> list[bool]:
        """Publish under `label`; for each output, whether production holds it now."""
        return self.group.submit([(item, label) for item in ready])

    def _run(self, items: list[tuple[Ready, str]]) -> list[bool]:
        by_label: dict[str, list[Ready]] = {}
        for item, label in items:
            by_label.setdefault(label, []).append(item)
        for label, ready in sorted(by_label.items()):
            records = {i.dist.key: i.record for i in ready if i.record is not None}
            try:
                self.channels.quarantine.copy_to(
                    self.channels.production, [i.dist for i in ready], labels={label},
                    records=records)
            except Exception:  # what did land is found below; the rest is retried
                log.exception("publishing %s failed", ", ".join(i.dist.key for i in ready))
        return [self._landed(item) for item, _ in items]

    def _landed(self, item: Ready) -> bool:
        try:
            found = self.channels.production.info(item.dist)
        except Exception:
            log.exception("could not look up %s after publishing it", item.dist.key)
            return False
        return found is not None and found.hashes.sha256 == item.sha256
