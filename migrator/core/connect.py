"""How long a client keeps trying to reach a server that does not answer at all.

One setting for every HTTP client of the project (GitHub, git over HTTPS, the
validation service's CI client): MIGRATOR_CONNECT_TIMEOUT seconds, 30 by default. A
server that cannot be connected to within it is unreachable: the command stops with one
line instead of retrying for minutes.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping

from migrator.core.errors import UserError

ENV = "MIGRATOR_CONNECT_TIMEOUT"
DEFAULT = 30.0


def connect_timeout(environ: Mapping[str, str] | None = None) -> float:
    text = (os.environ if environ is None else environ).get(ENV, "").strip()
    if not text:
        return DEFAULT
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise UserError(f"{ENV} must be a positive number of seconds, not {text!r}")
    return value
