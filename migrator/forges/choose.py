"""The `--forge` option every command shares, and opening the forge it names."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from migrator.forges import Forge

DEFAULT_FORGE = "forge"


def add_forge_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--forge", default=os.environ.get("MIGRATOR_FORGE", DEFAULT_FORGE),
        help="a local forge folder, or 'github' for the GitHub organisation named by "
             "--org (credentials from the environment) (default: %(default)s)",
    )
    parser.add_argument("--org", default=os.environ.get("MIGRATOR_ORG", "conda-forge"),
                        help="GitHub organisation for --forge github (default: %(default)s)")


def open_forge(args: argparse.Namespace) -> Forge:
    if args.forge == "github":
        from migrator.forges.github import github_forge_from_env

        forge: Forge = github_forge_from_env(org=args.org)
        return forge
    from migrator.forges.local import LocalForge

    return LocalForge(Path(args.forge))
