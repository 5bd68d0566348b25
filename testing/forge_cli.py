"""`python -m testing forge ...`: create and change a local forge of generated feedstocks."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from migrator.core.errors import UserError
from testing.seed import create_forge, describe


def add_forge_commands(commands: Any) -> None:
    forge = commands.add_parser("forge", help="create and inspect a local forge",
                                description="Manage the embedded local forge.")
    sub = forge.add_subparsers(dest="forge_command", metavar="ACTION", required=True)
    init = sub.add_parser(
        "init", help="create a local forge organisation on disk",
        description="Create an organisation of bare git repositories with what GitHub "
                    "knows about each (id, archived flag, branches), seeded from real "
                    "feedstock files and generated ones.",
    )
    init.add_argument("path", type=Path, help="new, empty folder for the forge")
    init.add_argument("--count", type=int, default=50, help="feedstocks (default: 50)")
    init.add_argument("--org", default="conda-forge", help="organisation name")
    init.add_argument("--broken", action="store_true",
                      help="also add one feedstock for each kind of bad input")
    init.add_argument("--corpus-share", type=float, default=0.5,
                      help="largest share of real corpus feedstocks (default: 0.5)")
    init.set_defaults(handler=_init)
    archive = sub.add_parser("archive", help="mark a repository archived (or not)")
    archive.add_argument("path", type=Path)
    archive.add_argument("repo")
    archive.add_argument("--undo", action="store_true", help="unarchive instead")
    archive.set_defaults(handler=_archive)


def _init(args: argparse.Namespace) -> int:
    _new_folder(args.path)
    started = time.perf_counter()
    forge = create_forge(args.path, count=args.count, org=args.org, broken=args.broken,
                         corpus_share=args.corpus_share)
    took = time.perf_counter() - started
    info = describe(forge)
    print(f"created {forge.org} at {args.path}: {info['feedstocks']} feedstocks "
          f"({info['archived']} archived) in {took:.1f} s")
    return 0


def _new_folder(path: Path) -> None:
    """The forge's folder must be new (or empty) and creatable: not a file, not below one."""
    for place in (path, *path.parents):
        if not place.exists():
            continue
        if place == path and place.is_dir():
            return  # the seeder refuses a folder that is not empty
        if place == path:
            raise UserError(f"{path} is a file; give a new folder for the forge")
        if not place.is_dir():
            raise UserError(f"{path} cannot be created: {place} is a file")
        return


def _archive(args: argparse.Namespace) -> int:
    from migrator.forges.local import LocalForge

    LocalForge(args.path).set_archived(args.repo, not args.undo)
    print(f"{args.repo}: {'unarchived' if args.undo else 'archived'}")
    return 0
