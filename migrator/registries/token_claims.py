"""Claims in the token registry: which run is provisioning a feedstock's provider.

`claims/<feedstock>/<provider>.json` = `{"run": ID, "since": UNIX_SECONDS}`. A claim is
taken in the same commit that registers a new hash and released in the one that expires
the old entries. Registry pushes are never forced and a lost race replays the change on
the new tip, so two runs cannot both hold a claim: the second one finds the first's and
stops. A claim older than `CLAIM_TTL` belongs to a run that died and never resumed.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import NamedTuple

CLAIM_TTL = 12 * 3600.0


class Claim(NamedTuple):
    run: str
    since: float


def claim_path(feedstock: str, provider: str) -> str:
    return f"claims/{feedstock}/{provider}.json"


def read_claim(path: Path) -> Claim | None:
    try:
        data = json.loads(path.read_text())
        return Claim(str(data["run"]), float(data["since"]))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        return None  # an unreadable claim protects nothing; it is replaced


def take(path: Path, *, run: str, now: float | None = None) -> str | None:
    """Take the claim for `run`; returns why not when another live run holds it."""
    now = time.time() if now is None else now
    held = read_claim(path)
    if held is not None and held.run != run and now - held.since < CLAIM_TTL:
        started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(held.since))
        return f"another run ({held.run}) has been provisioning it since {started}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"run": run, "since": round(now)}) + "\n")
    return None


def release(directory: Path, *, run: str) -> None:
    """Drop every claim `run` holds in a feedstock's claim folder."""
    if not directory.is_dir():
        return
    for path in directory.glob("*.json"):
        held = read_claim(path)
        if held is None or held.run == run:
            path.unlink()
    if not any(directory.iterdir()):
        directory.rmdir()
