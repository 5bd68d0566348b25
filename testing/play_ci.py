"""One feedstock's CI played against a local forge: build, upload to staging, ask the
running service over HTTP to copy, and check production."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from migrator.channels.directory import LocalChannel
from migrator.channels.dists import parse_dist
from migrator.core.git import git
from migrator.core.secret import Secret
from migrator.feedstock.recipe_outputs import RecipeError, recipe_outputs
from migrator.forges.local import LocalForge
from migrator.registries import outputs_registry as registry
from migrator.registries.outputs_writer import read_recipe_files, register_outputs
from migrator.service import local_setup as layout
from migrator.service.client import copy_via_service
from migrator.service.server import start_server
from testing.build_package import build_package
from testing.runs import provider_tokens
from testing.solve import solve


def play_ci(forge: LocalForge, feedstock: str, workdir: Path, *, register_missing: bool = True,
            provider: str = "github_actions",
            say: Callable[[str], None] = print) -> dict[str, Any]:
    """Run one CI job of `feedstock` on `provider` end to end and return what happened."""
    name = registry.bare(feedstock)
    repo = forge.repo(f"{name}-feedstock")
    workdir = Path(workdir)
    summary: dict[str, Any] = {"feedstock": repo.name, "provider": provider}
    token_value = provider_tokens(forge, repo).get(provider)
    if token_value is None:
        say(f"{repo.name}: no FEEDSTOCK_TOKEN for {provider}; provision it first")
        return {**summary, "ok": False, "error": f"no FEEDSTOCK_TOKEN for {provider}"}
    token = Secret(token_value)
    try:
        package = recipe_outputs(read_recipe_files(forge, name)).names[0]
    except RecipeError as exc:
        say(f"{repo.name}: {exc}; building a package named after the feedstock")
        package = name
    if register_missing and registry.registered(forge, package) is None:
        register_outputs(forge, {name: [package]}, workdir=workdir / "registry")
        summary["registered"] = package
        say(f"{repo.name}: registered {package} in feedstock-outputs (provisioning had not)")
    sha = git("rev-parse", repo.default_branch, cwd=forge.git_dir(repo.name)).strip()
    built = build_package(workdir / "build", name=package,
                          version=time.strftime("%Y.%m.%d.%H%M%S"), build="0")
    dist = parse_dist(f"noarch/{built.name}")
    service = layout.local_service(forge, forge_root=forge.root)
    service.channels.staging.upload(built, dist)
    staged = service.channels.staging.info(dist)
    assert staged is not None
    say(f"{repo.name}: a CI job on {provider} built {built.name} and uploaded it to cf-staging")
    body = {"feedstock": repo.name, "outputs": {dist.key: staged.hashes.sha256},
            "channel": "main", "git_sha": sha, "hash_type": "sha256",
            "provider": provider, "comment_on_error": True}
    with start_server(service) as server:
        status, report = copy_via_service(server.url, body, token, poll=0.2)
        summary["service_url"] = server.url
    production = service.channels.production
    assert isinstance(production, LocalChannel)
    listed = json.loads(production.index.view_path(dist.subdir).read_text())
    summary.update(
        package=dist.key, request_id=report.get("request_id"), status=status,
        results={k: v["result"] for k, v in report.get("results", {}).items()},
        in_production=dist.fn in listed.get("packages.conda", {}),
        staging_clean=service.channels.staging.info(dist) is None,
        ok=status == 200,
    )
    outcome = ", ".join(f"{k}: {v}" for k, v in summary["results"].items()) or report
    say(f"{repo.name}: copy request {summary['request_id']} answered {status} ({outcome})")
    say(f"{repo.name}: production lists it: {'yes' if summary['in_production'] else 'NO'}; "
        f"staging clean: {'yes' if summary['staging_clean'] else 'NO'}")
    if summary["in_production"]:
        solved = solve(production.url(), [f"{dist.name} =={dist.version}"])
        summary["solved"] = [f"{r['name']}-{r['version']}-{r['build']}" for r in solved]
        say(f"{repo.name}: py-rattler solves an environment from conda-forge: "
            f"{', '.join(summary['solved'])}")
    return summary
