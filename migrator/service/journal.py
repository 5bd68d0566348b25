"""One JSON file per copy request, rewritten atomically at every change of state, so a
restarted service knows where each request stopped. It holds the request (never the
token), each output's step and result, and whether the maintainers were told.

    requests/active/<id>.json   requests still moving (and <id>.lock while one runs)
    requests/done/<ab>/<id>.json  finished requests, sharded by the id's first two digits
    requests/claims.log         names requests published that the outputs registry
                                does not list yet (`claim_log`)
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from migrator.channels.local_place import write_atomic
from migrator.core.files import locked, read_json
from migrator.service.claim_log import ClaimLog
from migrator.service.request import CopyRequest

# request states
RECEIVED, AUTHENTICATED, DONE = "received", "authenticated", "done"
# output steps, in order
PENDING, CHECKED, QUARANTINED, PUBLISHING, PUBLISHED, FINISHED = (
    "pending", "checked", "quarantined", "publishing", "published", "finished")
_ID = re.compile(r"^[0-9a-f]{32}$")


def new_id() -> str:
    return secrets.token_hex(16)


class Journal:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.active = self.root / "active"
        self.done = self.root / "done"
        self.active.mkdir(parents=True, exist_ok=True)
        self.claims = ClaimLog(self.root)

    def create(self, request: CopyRequest, *, request_id: str | None = None,
               state: str = RECEIVED) -> dict[str, Any]:
        """The first record of a request; the service creates it only once the token was
        accepted (RECEIVED is what records written before that rule hold)."""
        now = time.time()
        record: dict[str, Any] = {
            "id": request_id or new_id(),
            "request": request.to_json(),
            "state": state,
            "received_at": now,
            "updated_at": now,
            "outputs": {key: {"step": PENDING, "sha256": None, "result": None}
                        for key in sorted(request.outputs)},
            "notice": None,
        }
        self.save(record)
        return record

    def save(self, record: dict[str, Any]) -> None:
        record["updated_at"] = time.time()
        # one line, by json's C encoder, in few system calls: written several times
        # per request
        write_atomic(str(self.active / f"{record['id']}.json"),
                     (json.dumps(record, sort_keys=True) + "\n").encode())

    def step(self, record: dict[str, Any], key: str, step: str, **fields: Any) -> None:
        record["outputs"][key].update(step=step, **fields)
        self.save(record)

    def load(self, request_id: str) -> dict[str, Any] | None:
        if not _ID.match(request_id):
            return None
        for path in (self.active / f"{request_id}.json", self._done_path(request_id)):
            with contextlib.suppress(FileNotFoundError):
                data: dict[str, Any] = read_json(path)
                return data
        return None

    def finish(self, record: dict[str, Any]) -> None:
        record["state"] = DONE
        self.save(record)
        target = self._done_path(record["id"])
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.active / f"{record['id']}.json", target)

    def active_ids(self) -> list[str]:
        return sorted(p.stem for p in self.active.glob("*.json") if _ID.match(p.stem))

    @contextlib.contextmanager
    def running(self, request_id: str, *, blocking: bool = True) -> Iterator[None]:
        """Held while a request is worked on; a second worker (a recovery pass, another
        process) gets BlockingIOError when `blocking` is False."""
        path = self.active / f"{request_id}.lock"
        with locked(path, blocking=blocking):
            try:
                yield
            finally:
                if not (self.active / f"{request_id}.json").exists():
                    path.unlink(missing_ok=True)

    def _done_path(self, request_id: str) -> Path:
        return self.done / request_id[:2] / f"{request_id}.json"
