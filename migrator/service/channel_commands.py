"""`migrator outputs mark-broken | unmark-broken | sweep`: the admin commands that work
on any channel, local or anaconda.org.

    mark-broken     add the `broken` label to production files and take `main` away
                    (solvers stop seeing them; their URLs keep working)
    unmark-broken   the reverse: `main` back, `broken` gone
    sweep           remove files left on staging and quarantine for over two hours; it
                    opens no forge and holds no production token (it reads no registry)
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from migrator.channels.base import DEFAULT_LABEL, Channel
from migrator.channels.dists import BadDist, parse_dist
from migrator.core.errors import UserError
from migrator.service import sweep as sweeping
from migrator.service.core import Service
from migrator.service.journal import Journal
from migrator.service.local_setup import PRODUCTION, QUARANTINE, STAGING
from migrator.service.pipeline import Channels

BROKEN_LABEL = "broken"
ROLES = {STAGING: "staging", QUARANTINE: "quarantine", PRODUCTION: "production"}

ServiceOf = Callable[[argparse.Namespace], Service]
# the channels of these names, and the state dir whose open requests a sweep spares
SweepOf = Callable[[argparse.Namespace, Sequence[str]], tuple[list[Channel], Path]]


def channel_named(channels: Channels, name: str) -> Channel:
    role = ROLES.get(name)
    if role is None:
        raise UserError(f"unknown channel {name!r}: the channels are {', '.join(ROLES)}")
    found: Channel = getattr(channels, role)
    return found


def set_broken(channel: Channel, key: str, *, broken: bool) -> frozenset[str]:
    """Label a file broken (or not any more); the labels it carries afterwards."""
    try:
        dist = parse_dist(key)
    except BadDist as exc:
        raise UserError(str(exc)) from None
    found = channel.info(dist)
    if found is None:
        raise UserError(f"{key} is not on {channel.name}")
    if broken:
        labels = (found.labels - {DEFAULT_LABEL}) | {BROKEN_LABEL}
    else:
        labels = (found.labels - {BROKEN_LABEL}) | {DEFAULT_LABEL}
    channel.set_labels(dist, labels)
    return frozenset(labels)


def add_channel_commands(sub: Any, *, service: ServiceOf, sweep_target: SweepOf) -> None:
    for name, broken, text in (
            ("mark-broken", True, "label production files broken, out of main"),
            ("unmark-broken", False, "put broken production files back into main")):
        parser = sub.add_parser(name, help=text)
        parser.add_argument("files", nargs="+", metavar="SUBDIR/FILE")
        parser.set_defaults(handler=_labeller(service, broken))

    parser = sub.add_parser("sweep", help="remove files left on staging and quarantine")
    parser.add_argument("--max", type=int, default=sweeping.DEFAULT_LIMIT, dest="limit",
                        help="remove at most this many files (default: %(default)s)")
    parser.add_argument("--older-than", type=float, default=sweeping.MAX_AGE / 3600,
                        metavar="HOURS", help="age to sweep from (default: %(default)s)")
    parser.add_argument("--only", action="append", metavar="CHANNEL",
                        help=f"sweep {STAGING} or {QUARANTINE} only (repeatable)")
    parser.set_defaults(handler=lambda args: _sweep(sweep_target, args))


def _labeller(service: ServiceOf, broken: bool) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        channel = channel_named(service(args).channels, PRODUCTION)
        for key in args.files:
            labels = set_broken(channel, key, broken=broken)
            print(f"{key}: labels now {', '.join(sorted(labels)) or 'none'} on {channel.name}")
        return 0

    return handler


def _sweep(sweep_target: SweepOf, args: argparse.Namespace) -> int:
    if args.limit < 1 or args.older_than <= 0:
        raise UserError("--max and --older-than must be positive")
    names = list(dict.fromkeys(args.only or [STAGING, QUARANTINE]))
    for name in names:
        if name not in ROLES:
            raise UserError(f"unknown channel {name!r}: the channels are {', '.join(ROLES)}")
    if PRODUCTION in names:
        raise UserError(f"{PRODUCTION} is production: it is never swept")
    channels, state_dir = sweep_target(args, names)
    report = sweeping.sweep(channels, journal=Journal(state_dir / "requests"),
                            locks=state_dir / "locks", max_age=args.older_than * 3600,
                            limit=args.limit)
    for item in report.removed:
        print(f"removed {item.channel}:{item.key} ({item.age / 3600:.1f} h old)")
    for where in report.held:
        print(f"kept {where}: an open request names it")
    for problem in report.failed:
        print(f"failed {problem}")
    more = "; more remain (--max reached)" if report.limited else ""
    print(f"swept {len(report.removed)} file(s){more}")
    return 1 if report.failed else 0
