"""The options of `migrator outputs serve`, checked before anything starts: a wrong
value is one line saying which option and why, never a traceback from a socket."""

from __future__ import annotations

import argparse
from typing import Any

from migrator.core.errors import UserError
from migrator.service.wsgi import Limits

_DEFAULTS = Limits()


def add_serving_options(parser: Any) -> None:
    parser.add_argument("--threads", default=str(_DEFAULTS.threads),
                        help="requests handled at once (default: %(default)s)")
    parser.add_argument("--connections", default=str(_DEFAULTS.connections),
                        help="open connections at most (default: %(default)s)")
    parser.add_argument("--idle-timeout", default=str(_DEFAULTS.idle_timeout),
                        metavar="SECONDS",
                        help="close a connection idle this long (default: %(default)s)")
    parser.add_argument("--header-timeout", default=str(_DEFAULTS.header_timeout),
                        metavar="SECONDS",
                        help="time to send a request's header (default: %(default)s)")
    parser.add_argument("--body-timeout", default=str(_DEFAULTS.body_timeout),
                        metavar="SECONDS",
                        help="time to send a request's body (default: %(default)s)")


def port_number(text: str) -> int:
    try:
        port = int(str(text).strip())
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise UserError(f"--port must be a whole number from 1 to 65535, not {text!r}")
    return port


def _number(option: str, text: str, *, whole: bool, most: float) -> Any:
    try:
        value = int(text) if whole else float(text)
    except ValueError:
        value = 0
    if not 0 < value <= most:
        kind = "a whole number" if whole else "a number of seconds"
        raise UserError(f"{option} must be {kind} above 0 and at most {most:g}, not {text!r}")
    return value


def serving_limits(args: argparse.Namespace) -> Limits:
    return Limits(
        threads=_number("--threads", args.threads, whole=True, most=256),
        connections=_number("--connections", args.connections, whole=True, most=10_000),
        idle_timeout=_number("--idle-timeout", args.idle_timeout, whole=False, most=3600),
        header_timeout=_number("--header-timeout", args.header_timeout, whole=False,
                               most=3600),
        body_timeout=_number("--body-timeout", args.body_timeout, whole=False, most=3600),
    )
