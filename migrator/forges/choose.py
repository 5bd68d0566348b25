"""The `--forge` option every command shares, and opening the forge (and the CI secret
stores) it names."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from migrator.forges import Forge
from migrator.forges.actions_store import ActionsStore
from migrator.forges.ci_secrets import CISecretStore

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


def add_store_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--azure-org", default=os.environ.get("MIGRATOR_AZURE_ORG", "conda-forge"),
        help="Azure DevOps organisation of the feedstocks' pipelines (default: %(default)s)")
    parser.add_argument(
        "--azure-project", default=os.environ.get("MIGRATOR_AZURE_PROJECT", "feedstock-builds"),
        help="Azure DevOps project holding one build definition per feedstock "
             "(default: %(default)s)")


def open_stores(args: argparse.Namespace, forge: Forge) -> dict[str, CISecretStore]:
    """The CI secret store of every provider a feedstock may upload from, by the name CI
    sends as `provider`. The local forge keeps its Azure pipelines beside its
    repositories; with --forge github, Azure DevOps is reached with AZURE_DEVOPS_TOKEN."""
    if args.forge == "github":
        from migrator.forges.azure import azure_pipelines_from_env

        azure: CISecretStore = azure_pipelines_from_env(
            organization=args.azure_org, project=args.azure_project)
    else:
        from migrator.forges.local_pipelines import LocalPipelines

        azure = LocalPipelines(Path(args.forge) / "azure")
    return {"github_actions": ActionsStore(forge), "azure": azure}
