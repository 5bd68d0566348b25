"""One feedstock's record in one migration: its status, its steps' outcomes, and the
facts a resumed run needs (branches, providers, the salts it registered). Plain JSON,
never a secret (`Secret` refuses to serialise)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from migrator.core.files import atomic_write_text

DONE, FAILED, SKIPPED, STARTED = "done", "failed", "skipped", "started"
# feedstock-level summary states
IN_PROGRESS, PENDING = "in-progress", "pending"


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class FeedstockRecord:
    """The state of one feedstock in one migration; `save()` after every change."""

    def __init__(self, path: Path, data: dict[str, Any],
                 on_status: Callable[[FeedstockRecord], None] | None = None) -> None:
        self.path = path
        self.data = data
        self.on_status = on_status

    @property
    def status(self) -> str:
        return str(self.data.get("status", PENDING))

    @property
    def steps(self) -> dict[str, dict[str, Any]]:
        steps: dict[str, dict[str, Any]] = self.data.setdefault("steps", {})
        return steps

    @property
    def branches(self) -> list[str]:
        """The branches this feedstock's branch steps run on (set when it is planned)."""
        return list(self.data.get("branches", []))

    @branches.setter
    def branches(self, names: list[str]) -> None:
        self.data["branches"] = list(names)

    @property
    def providers(self) -> list[str]:
        """The CI providers it uploads from, each getting its own token (once detected)."""
        return list(self.data.get("providers", []))

    @providers.setter
    def providers(self, names: list[str]) -> None:
        self.data["providers"] = sorted(names)

    def salts(self, provider: str) -> list[str]:
        """Every salt a token step registered for `provider` (public, never secret): a
        resumed run finds its orphaned registry entries by them."""
        found = self.data.setdefault("token_salts", {})
        if isinstance(found, list):  # before tokens were per provider: GitHub Actions only
            found = self.data["token_salts"] = {"github_actions": found}
        salts: list[str] = found.setdefault(provider, [])
        return salts

    def step_status(self, step: str) -> str | None:
        item = self.steps.get(step)
        return None if item is None else str(item["status"])

    def record(self, step: str, status: str, detail: str = "", *,
               seconds: float | None = None, code: str | None = None,
               save: bool = True) -> None:
        """Record a step's outcome; `save=False` keeps it in memory until the next save
        (a step with no external effect: a crash before then only runs it again)."""
        item: dict[str, Any] = {"status": status, "at": now_iso()}
        if detail:
            item["detail"] = detail
        if code:
            item["code"] = code
        if seconds is not None:
            item["seconds"] = seconds
        previous = self.steps.get(step)
        counts = status not in (STARTED, "staged") and (previous or {}).get("status") != "staged"
        item["attempts"] = (previous or {}).get("attempts", 0) + counts
        self.steps[step] = item
        if status != STARTED and save:  # STARTED: a resumed run re-runs unfinished steps
            self.save()

    def set_status(self, status: str, reason: str = "", *, code: str = "",
                   step: str = "") -> None:
        """The feedstock's outcome; a failure or skip has a reason, a stable reason
        code (what reports group by) and the step it happened at."""
        self.data["status"] = status
        for key, value in (("reason", reason), ("reason_code", code), ("last_step", step)):
            if value:
                self.data[key] = value
            else:
                self.data.pop(key, None)
        self.save()
        if self.on_status is not None:
            self.on_status(self)

    def save(self) -> None:
        self.data["updated_at"] = now_iso()
        # written after an external effect: it must outlive a crash of the machine too
        atomic_write_text(self.path, render_record(self.data), durable=True)


def render_record(data: dict[str, Any]) -> str:
    """The record as indented JSON with one line per step, in run order: as readable as
    `indent=2`, and written by the C encoder, which `indent` would turn off."""
    lines = []
    for key, value in data.items():
        if isinstance(value, dict) and value:
            inner = ",\n".join(f"    {json.dumps(k)}: {json.dumps(v)}" for k, v in value.items())
            lines.append(f"  {json.dumps(key)}: {{\n{inner}\n  }}")
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"
