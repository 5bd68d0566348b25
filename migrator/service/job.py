"""What processing one copy request needs, shared by its steps (`pipeline`,
`output_checks`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migrator.service import journal as J
from migrator.service.publisher import Channels, Publisher
from migrator.service.registry_view import RegistryView, Snapshot
from migrator.service.request import CopyRequest


@dataclass
class Job:
    """What processing one request needs. The registry snapshot is taken once per
    request (and again, fresher, before a refusal)."""

    channels: Channels
    journal: J.Journal
    record: dict[str, Any]
    request: CopyRequest
    workdir: Path
    locks: Path
    lock_timeout: float
    names: RegistryView
    publisher: Publisher
    arrived: float = field(default_factory=time.monotonic)
    snapshot: Snapshot | None = None
    held: list[Path] = field(default_factory=list)  # files in `workdir` to remove
    # per subdir: production's names that `check_new_name` compares a name with
    published: dict[str, Callable[[str], list[str]]] = field(default_factory=dict)
