"""The resumable JSON state directory.

    <state>/<migration>/<shard>/<repo id>.json   one small file per feedstock

One file per feedstock keeps every write O(1) and atomic, and lets scheduled runs over
disjoint shards of feedstocks commit their state to one git repository without merge
conflicts (no two runs ever touch the same file). Files are keyed by the repository's
numeric id, so a renamed repository keeps its history. A state never holds a secret:
records are plain JSON, and `Secret` objects refuse to serialise.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from migrator.core.errors import UserError
from migrator.core.files import locked, read_json, write_json
from migrator.forges import RepoInfo

log = logging.getLogger("migrator")

DONE, FAILED, SKIPPED, STARTED = "done", "failed", "skipped", "started"
# feedstock-level summary states
IN_PROGRESS, PENDING = "in-progress", "pending"


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class FeedstockRecord:
    """The state of one feedstock in one migration; `save()` after every change."""

    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path = path
        self.data = data

    @property
    def status(self) -> str:
        return str(self.data.get("status", PENDING))

    @property
    def steps(self) -> dict[str, dict[str, Any]]:
        steps: dict[str, dict[str, Any]] = self.data.setdefault("steps", {})
        return steps

    def step_status(self, step: str) -> str | None:
        item = self.steps.get(step)
        return None if item is None else str(item["status"])

    def record(self, step: str, status: str, detail: str = "", *,
               seconds: float | None = None) -> None:
        item: dict[str, Any] = {"status": status, "at": now_iso()}
        if detail:
            item["detail"] = detail
        if seconds is not None:
            item["seconds"] = seconds
        previous = self.steps.get(step)
        counts = status not in (STARTED, "staged") and (previous or {}).get("status") != "staged"
        item["attempts"] = (previous or {}).get("attempts", 0) + counts
        self.steps[step] = item
        self.save()

    def set_status(self, status: str, reason: str = "") -> None:
        self.data["status"] = status
        if reason:
            self.data["reason"] = reason
        else:
            self.data.pop("reason", None)
        self.save()

    def save(self) -> None:
        self.data["updated_at"] = now_iso()
        write_json(self.path, self.data, sort_keys=False)  # steps in run order


class StateDir:
    def __init__(self, root: Path, migration: str) -> None:
        self.root = Path(root)
        self.migration = migration
        self.base = self.root / migration

    def _path(self, repo_id: int) -> Path:
        return self.base / f"{repo_id % 256:02x}" / f"{repo_id}.json"

    def _read(self, path: Path) -> dict[str, Any] | None:
        """The record at `path`, None when there is none. An unreadable one (hand-edited,
        or torn by something other than this program) reads as a failure with its reason,
        so one bad file stops one feedstock, not the run."""
        try:
            data = read_json(path)
        except FileNotFoundError:
            return None
        except (ValueError, UnicodeDecodeError) as exc:
            return {"status": FAILED, "unreadable": True,
                    "reason": f"state file {path} is unreadable ({exc}); --retry-failed "
                              "keeps it aside and starts this feedstock's record over"}
        if not isinstance(data, dict) or not isinstance(data.get("steps", {}), dict) or any(
            not isinstance(v, dict) or "status" not in v for v in data.get("steps", {}).values()
        ):
            return {"status": FAILED, "unreadable": True,
                    "reason": f"state file {path} does not have the shape of a record"}
        return data

    def load(self, repo: RepoInfo) -> FeedstockRecord:
        path = self._path(repo.id)
        data = self._read(path)
        if data is not None and data.get("unreadable"):
            aside = path.with_name(f"{path.name}.unreadable-{int(time.time())}")
            os.replace(path, aside)
            log.warning("%s: kept the unreadable state file as %s", repo.name, aside)
            data = None
        if data is None:
            data = {"feedstock": repo.name, "repo_id": repo.id, "migration": self.migration,
                    "status": PENDING}
        data["feedstock"] = repo.name  # follows renames
        return FeedstockRecord(path, data)

    def peek_status(self, repo: RepoInfo) -> str:
        data = self._read(self._path(repo.id))
        return PENDING if data is None else str(data.get("status", PENDING))

    def records(self) -> Iterator[dict[str, Any]]:
        if not self.base.is_dir():
            return
        for shard in sorted(os.scandir(self.base), key=lambda e: e.name):
            if not shard.is_dir():
                continue
            for entry in sorted(os.scandir(shard.path), key=lambda e: e.name):
                if not entry.name.endswith(".json"):
                    continue
                data = self._read(Path(entry.path))
                if data is not None and data.get("unreadable"):
                    repo_id = int(entry.name.removesuffix(".json"))
                    data.update(feedstock=f"(repository id {repo_id})", repo_id=repo_id)
                if data is not None:
                    yield data

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """One run per state directory at a time: a second one is refused, not queued."""
        lock = self.root / ".lock"
        self.root.mkdir(parents=True, exist_ok=True)
        with contextlib.ExitStack() as stack:
            try:
                fd = stack.enter_context(locked(lock, blocking=False))
            except BlockingIOError:
                holder = lock.read_text().strip() or "another process"
                raise UserError(
                    f"another migrator run is using the state directory {self.root} "
                    f"({holder}); wait for it to finish or use a different --state"
                ) from None
            os.ftruncate(fd, 0)
            os.write(fd, f"pid {os.getpid()} since {now_iso()}\n".encode())
            yield
