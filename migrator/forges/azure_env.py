"""How the Azure Pipelines store paces itself: Azure DevOps' own limit answers, and write
ceilings from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from migrator.core.errors import UserError
from migrator.forges.azure_http import classify
from migrator.forges.pacing import Ceiling, Pacer

# Azure DevOps publishes no write ceiling; these keep well under its "200 times a typical
# user" delay threshold while outpacing GitHub's 500 writes an hour
AZURE_CEILINGS = (Ceiling(30, 60.0), Ceiling(1000, 3600.0))


def azure_pacer(env: Mapping[str, str]) -> Pacer:
    """MIGRATOR_AZURE_CEILINGS ("30/60,1000/3600": writes per seconds) and
    MIGRATOR_AZURE_MAX_WAIT (seconds) change the write queue; AZURE_CEILINGS otherwise."""
    text = env.get("MIGRATOR_AZURE_CEILINGS", "")
    try:
        ceilings = tuple(Ceiling(int(n), float(s)) for n, s in
                         (part.split("/") for part in text.split(","))) if text \
            else AZURE_CEILINGS
        max_wait = float(env.get("MIGRATOR_AZURE_MAX_WAIT", "600"))
        if any(c.limit <= 0 or c.seconds <= 0 for c in ceilings):
            raise ValueError("ceilings must be positive")
    except ValueError:
        raise UserError("MIGRATOR_AZURE_CEILINGS is a list like 30/60,1000/3600 and "
                        "MIGRATOR_AZURE_MAX_WAIT a number of seconds") from None
    return azure_pacer_with(ceilings=ceilings, max_wait=max_wait)


def azure_pacer_with(**options: Any) -> Pacer:
    """A pacer that reads Azure DevOps' limit answers (tests pass their own ceilings)."""
    options.setdefault("ceilings", AZURE_CEILINGS)
    options.setdefault("secondary_wait", 30.0)  # Azure delays a request by 30 s at most
    return Pacer(classify=classify, service="Azure DevOps", read_budget=False, **options)
