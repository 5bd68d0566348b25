"""Option types and the feedstock selection every run and status command shares."""

from __future__ import annotations

import argparse
import math
import zlib
from pathlib import Path

from migrator.core.errors import UserError
from migrator.forges import RepoInfo
from migrator.forges.choose import add_forge_option


def common_options(parser: argparse.ArgumentParser) -> None:
    add_forge_option(parser)
    parser.add_argument("--state", type=Path, default=Path("state"),
                        help="state directory (default: %(default)s)")
    parser.add_argument("--shard", type=shard, default=None, metavar="I/N",
                        help="only feedstocks in shard I of N (by repository id)")


def duration(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    try:
        if text[-1] in units:
            return float(text[:-1]) * units[text[-1]]
        return float(text)
    except (ValueError, IndexError):
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (try 45m)") from None


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def hours(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of hours: {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"not a number of hours: {text!r}")
    return value


def shard(text: str) -> tuple[int, int]:
    try:
        index, count = (int(p) for p in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a shard: {text!r} (try 0/4)") from None
    if not 0 <= index < count:
        raise argparse.ArgumentTypeError(f"shard index must be in 0..{count - 1}")
    return index, count


def index_part(args: argparse.Namespace) -> str:
    """The run's own part of the state index: one per shard, so shards never conflict."""
    return "all" if args.shard is None else f"shard-{args.shard[0]}-of-{args.shard[1]}"


def select(repos: list[RepoInfo], args: argparse.Namespace) -> list[RepoInfo]:
    if args.shard is not None:
        index, count = args.shard
        # crc32 of the id, not id % N: ids are handed out in runs, names alphabetically
        repos = [r for r in repos if zlib.crc32(str(r.id).encode()) % count == index]
    only = getattr(args, "only", None)
    if only:
        wanted = {n if n.endswith("-feedstock") else f"{n}-feedstock" for n in only}
        missing = wanted - {r.name for r in repos}
        if missing:
            raise UserError(f"no such feedstock: {', '.join(sorted(missing))}")
        repos = [r for r in repos if r.name in wanted]
    return repos
