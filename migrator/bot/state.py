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
import logging
import os
import secrets
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from migrator.bot.feedstock_record import (  # noqa: F401 (re-exported)
    DONE,
    FAILED,
    IN_PROGRESS,
    PENDING,
    SKIPPED,
    STARTED,
    FeedstockRecord,
    now_iso,
)
from migrator.bot.state_index import IndexRow
from migrator.bot.state_index_reader import read_rows
from migrator.bot.state_index_writer import IndexWriter
from migrator.core.errors import UserError
from migrator.core.files import atomic_write_text as write_text_atomic
from migrator.core.files import locked, read_json
from migrator.forges import RepoInfo

log = logging.getLogger("migrator")



class StateDir:
    def __init__(self, root: Path, migration: str, *, part: str = "all") -> None:
        self.root = Path(root)
        self.migration = migration
        self.base = self.root / migration
        self.part = part  # this run's part of the summary index (its shard)
        self._rows: dict[int, IndexRow] | None = None
        self._writer: IndexWriter | None = None

    # -- the summary index ---------------------------------------------------------------
    def index(self) -> dict[int, IndexRow]:
        """Every recorded feedstock's outcome, read once per run from the index (built
        from the records the first time, for a state directory from before it)."""
        if self._rows is None:
            directory = self.base / "index"
            if not directory.is_dir() and self.base.is_dir():
                self._rebuild(directory)
            self._rows = read_rows(directory)
        return self._rows

    def _rebuild(self, directory: Path) -> None:
        writer = IndexWriter(directory, "rebuilt")
        for data in self.records():
            writer.append(_row(data))

    def _indexed(self, record: FeedstockRecord) -> None:
        row = _row(record.data)
        if self._writer is None:
            self._writer = IndexWriter(self.base / "index", self.part)
        self._writer.append(row)
        if self._rows is not None:
            self._rows[row.repo_id] = row

    def compact(self) -> None:
        if self._writer is not None:
            self._writer.compact()

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
        return FeedstockRecord(path, data, on_status=self._indexed)

    def peek_status(self, repo: RepoInfo) -> str:
        return self.peek(repo)[0]

    def peek(self, repo: RepoInfo) -> tuple[str, str]:
        """The feedstock's status and reason code, from the index."""
        row = self.index().get(repo.id)
        return (PENDING, "") if row is None else (row.status, row.code)

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

    def run_id(self) -> str:
        """This state directory's identity, made once and kept beside its records: the
        name under which its runs hold claims in the token registry, the same after a
        resume."""
        path = self.root / "run-id"
        try:
            return path.read_text().strip()
        except FileNotFoundError:
            self.root.mkdir(parents=True, exist_ok=True)
            identity = f"{socket.gethostname()[:32]}-{secrets.token_hex(6)}"
            write_text_atomic(path, identity + "\n")
            return identity

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


def _row(data: dict[str, Any]) -> IndexRow:
    return IndexRow(int(data.get("repo_id", 0)), str(data.get("feedstock", "")),
                    str(data.get("status", PENDING)), str(data.get("reason_code", "")),
                    str(data.get("last_step", "")), str(data.get("updated_at", now_iso())))
