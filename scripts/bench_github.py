#!/usr/bin/env python3
"""Benchmark the GitHub forge and the Azure Pipelines store against the stand-in GitHub
(testing/github_server) and Azure DevOps (testing/azure_server).

Three runs of the output-validation migration, each on a fresh organisation whose every
feedstock also has an Azure build definition (a few not linked to `anaconda-org`):
  1. full size, App authentication: every feedstock checked for each CI provider it builds
     on (the token its jobs get verifies against the registry for that provider and is
     that provider's one never-expiring entry, its jobs can read the staging token,
     conda-forge.yml has the key), requests per provisioned feedstock counted by each
     server, the feedstocks an hour both services' write limits allow, then a second run
     over the finished organisation to count what an already-done feedstock costs;
  2. with the GitHub server enforcing write ceilings (GitHub's, with time scaled down, and
     the Azure store paced by its own ceilings scaled alike): limit answers received and
     the share of the allowed write rate kept;
  3. with injected faults on both services: every feedstock still correct, faults survived.

Usage: python scripts/bench_github.py [--feedstocks 240] [--corpus-share 0.15]
                                     [--renderer patch]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from migrator.bot import migrations  # noqa: E402
from migrator.bot.runner import RunSummary, run_migration  # noqa: E402
from migrator.bot.state import StateDir  # noqa: E402
from migrator.bot.task import Options  # noqa: E402
from migrator.forges.azure_env import AZURE_CEILINGS, azure_pacer_with  # noqa: E402
from migrator.forges.github import GithubForge, github_forge_from_env  # noqa: E402
from migrator.forges.local import LocalForge  # noqa: E402
from migrator.forges.pacing import Ceiling, Pacer  # noqa: E402
from testing.azure_server import AzureServer  # noqa: E402
from testing.azure_server import Faults as AzureFaults  # noqa: E402
from testing.azure_server.checks import azure_cost  # noqa: E402
from testing.azure_server.local_import import import_local  # noqa: E402
from testing.ci_servers import CiServers, feedstocks_per_hour  # noqa: E402
from testing.github_server import Faults, GithubServer  # noqa: E402
from testing.github_server.checks import cost, write_rate  # noqa: E402
from testing.seed import create_forge  # noqa: E402

STAGING = "staging-token-for-the-benchmark"
MIGRATION = migrations.get("output-validation")
PROVIDERS = ("azure", "github_actions")




class Setup(NamedTuple):
    feedstocks: int
    renderer: str
    corpus_share: float  # of real corpus feedstocks; the rest are generated
    root: Path


def organisation(setup: Setup, *, azure_faults: AzureFaults | None = None,
                 **config: object) -> CiServers:
    root = setup.root
    # forks workers: before any thread starts
    create_forge(root / "forge", count=setup.feedstocks, corpus_share=setup.corpus_share)
    server = GithubServer(**config).start()  # type: ignore[arg-type]
    local = LocalForge(root / "forge")
    server.model.import_local(local)
    server.local = local
    azure = AzureServer(faults=azure_faults).start()
    import_local(azure.model, root / "forge" / "azure", staging=STAGING)
    return CiServers(server, azure, STAGING)


def forge_for(servers: CiServers, root: Path, pacer: Pacer, backoff: float) -> GithubForge:
    return github_forge_from_env(servers.github.app_env(), org=servers.github.model.org,
                                 pacer=pacer, cache_dir=root / "cache", backoff=backoff)


def migrate(servers: CiServers, forge: GithubForge, root: Path, renderer: str,
            azure_pacer: Pacer, **options: object) -> RunSummary:
    stores = servers.stores(forge, pacer=azure_pacer, backoff=0.1)
    return run_migration(forge, MIGRATION, StateDir(root / "state", MIGRATION.name),
                         Options(renderer=renderer, **options),  # type: ignore[arg-type]
                         stores=stores)


def records(root: Path) -> dict[str, dict[str, object]]:
    found = {}
    for path in (root / "state" / MIGRATION.name).glob("*/*.json"):
        record = json.loads(path.read_text())
        found[record["feedstock"]] = record
    return found


def verify(servers: CiServers, forge: GithubForge,
           root: Path) -> tuple[list[str], dict[str, list[str]], dict[str, list[str]]]:
    """Every feedstock must be provisioned for each provider it builds on, unless its
    failure is recorded with a reason (a feedstock whose CI cannot be given a token, or
    that the renderer refuses, is never switched over). Returns the provisioned ones, the
    wrong ones, and the provisioned ones by provider."""
    found = records(root)
    names = [r.name for r in forge.list_feedstocks()
             if not r.archived and found.get(r.name, {}).get("status") != "failed"]
    bad: dict[str, list[str]] = {}
    uses: dict[str, list[str]] = {p: [] for p in PROVIDERS}
    for name in names:
        recorded = [str(p) for p in found.get(name, {}).get("providers") or []]  # type: ignore[attr-defined]
        providers = servers.expected_providers(name, recorded)
        problems = servers.problems(name, providers)
        if set(recorded) != providers:
            problems.append(f"detected {recorded}, seeded {sorted(providers)}")
        if problems:
            bad[name] = problems
        for provider in providers:
            uses[provider].append(name)
    return names, bad, uses


def violations(servers: CiServers) -> int:
    return len(servers.github.checker.violations) + len(servers.azure.checker.violations)


def report_run(title: str, servers: CiServers, forge: GithubForge, summary: RunSummary,
               root: Path) -> tuple[list[str], dict[str, list[str]], dict[str, list[str]]]:
    names, bad, uses = verify(servers, forge, root)
    print(f"\n== {title}")
    print(f"outcomes: {dict(summary.outcomes)} in {summary.seconds:.1f} s "
          f"({len(names) / summary.seconds:.1f} feedstocks/s)")
    print(f"feedstocks correct: {len(names) - len(bad)} of the {len(names)} not failed "
          f"(archived ones are skipped, never pushed to); "
          + ", ".join(f"{len(uses[p])} build on {p}" for p in PROVIDERS))
    for name, problems in list(bad.items())[:5]:
        print(f"  WRONG {name}: {problems}")
    failed = [str(r.get("reason", "?"))[:100] for r in records(root).values()
              if r.get("status") == "failed"]
    for reason, count in Counter(failed).most_common(5):
        print(f"  failed x{count}: {reason}")
    hub, azure = servers.github.checker, servers.azure.checker
    print(f"requests outside GitHub's description: {len(hub.violations)} (checked "
          f"{hub.checked['requests']} requests, {hub.checked['responses']} answers); "
          f"outside Azure DevOps': {len(azure.violations)} (checked "
          f"{azure.checked['requests']} requests, {azure.checked['responses']} answers)")
    for problem in (hub.violations + azure.violations)[:5]:
        print(f"  {problem}")
    return names, bad, uses


def unpaced() -> Pacer:
    """Ceilings that never bind, for runs whose server enforces none."""
    return Pacer(ceilings=(Ceiling(100_000, 1.0),), max_wait=60.0, secondary_wait=1.0)


def azure_unpaced() -> Pacer:
    return azure_pacer_with(ceilings=(Ceiling(100_000, 1.0),), max_wait=60.0,
                            secondary_wait=1.0)


def full_size(setup: Setup) -> bool:
    count, renderer, root = setup.feedstocks, setup.renderer, setup.root
    servers = organisation(setup)
    unlinked = [d.name for d in servers.azure.model.definitions.values() if not d.groups]
    forge = forge_for(servers, root, unpaced(), backoff=0.2)
    summary = migrate(servers, forge, root, renderer, azure_unpaced())
    names, bad, uses = report_run(f"full migration of {count} feedstocks (App auth)", servers,
                                  forge, summary, root)
    print(f"{len(servers.azure.model.definitions)} Azure build definitions, {len(unlinked)} "
          f"of them not linked to anaconda-org at the start")
    spent = cost(servers.github.entries(), names)
    azure = azure_cost(servers.azure, servers.azure.entries(), names)
    on_azure = azure_cost(servers.azure, servers.azure.entries(), uses["azure"])
    print(f"per provisioned feedstock ({len(names)}):")
    print(f"  GitHub: {spent.rest:.2f} REST requests (max {spent.rest_max}), "
          f"{spent.writes:.2f} content-creating (max {spent.writes_max}), {spent.git:.2f} "
          f"git HTTP requests")
    print(f"  Azure DevOps: {azure.requests:.2f} requests, {azure.writes:.2f} content-"
          f"creating; per feedstock that builds on Azure ({len(uses['azure'])}): "
          f"{on_azure.requests:.2f} (max {on_azure.requests_max}), {on_azure.writes:.2f} "
          f"content-creating (max {on_azure.writes_max})")
    print(f"organisation-wide: GitHub {spent.overhead_rest} REST requests, "
          f"{spent.overhead_git} git HTTP requests (listing, staging secret, registries); "
          f"Azure DevOps {azure.overhead} (the variable group)")
    hourly = feedstocks_per_hour(github_writes=spent.writes, azure_writes=azure.writes)
    github_alone = feedstocks_per_hour(github_writes=spent.writes, azure_writes=0.0)
    azure_alone = feedstocks_per_hour(github_writes=0.0, azure_writes=azure.writes)
    print(f"implied feedstocks per hour under both services' write limits: {hourly:.0f} "
          f"(GitHub's 80/min and 500/h alone would allow {github_alone:.0f}, the Azure "
          f"store's {', '.join(f'{c.limit}/{c.seconds:g}s' for c in AZURE_CEILINGS)} alone "
          f"{azure_alone:.0f})")
    before, azure_before = len(servers.github.entries()), len(servers.azure.entries())
    again_forge = forge_for(servers, root, unpaced(), backoff=0.2)
    again = migrate(servers, again_forge, root, renderer, azure_unpaced())
    later = servers.github.entries()[before:]
    done_cost = cost(later, names)
    print(f"already done, per feedstock: {done_cost.rest:.2f} REST, {done_cost.writes:.2f} "
          f"content-creating, {done_cost.git:.2f} git; the rerun made {len(later)} GitHub "
          f"requests in all ({Counter(e.status for e in later)}) and "
          f"{len(servers.azure.entries()) - azure_before} Azure DevOps requests, untouched "
          f"{dict(again.untouched)}")
    budget = forge.pacer.budget()
    print(f"client count: {budget.requests} REST requests, {budget.writes} content-creating; "
          f"primary limit remaining {budget.remaining}")
    servers.github.stop()
    servers.azure.stop()
    return not bad and not violations(servers)


def ceilings(setup: Setup) -> bool:
    count, renderer, root = setup.feedstocks, setup.renderer, setup.root
    scale = 15.0  # GitHub's minute is 4 s here, its hour 4 minutes
    limits = ((80, 60.0 / scale), (500, 3600.0 / scale))
    servers = organisation(setup, ceilings=limits)
    run_budget = 300.0  # this run's --time-budget, in scaled time
    pacer = Pacer(ceilings=tuple(Ceiling(n, s) for n, s in limits), max_wait=60.0,
                  deadline=time.monotonic() + run_budget)
    azure_pacer = azure_pacer_with(ceilings=tuple(Ceiling(c.limit, c.seconds / scale)
                                                  for c in AZURE_CEILINGS), max_wait=60.0)
    forge = forge_for(servers, root, pacer, backoff=0.2)
    summary = migrate(servers, forge, root, renderer, azure_pacer, batch_size=count, jobs=6)
    names, bad, uses = report_run(
        f"{count} feedstocks under write ceilings {[(n, round(s, 1)) for n, s in limits]} "
        f"(GitHub's / {scale:g})", servers, forge, summary, root)
    writes, rate = write_rate(servers.github.entries(), uses["github_actions"])
    allowed = min(n / s for n, s in limits)
    refused = sum(servers.github.limits.refused.values())
    print(f"limit answers from the server: {refused}; seen by the client: "
          f"{forge.pacer.limit_answers}")
    print(f"secret writes: {writes} at {rate:.2f}/s = {rate / allowed:.0%} of the allowed "
          f"{allowed:.2f}/s")
    budget = forge.pacer.budget(requests_per_feedstock=3, writes_per_feedstock=1)
    print(f"budget reported: {budget.requests} requests used ({budget.writes} content-"
          f"creating), primary remaining {budget.remaining}, {budget.writes_left} writes and "
          f"{budget.feedstocks_left} feedstocks still fit in this run's {run_budget:.0f} s")
    servers.github.stop()
    servers.azure.stop()
    return not bad and not refused and rate >= 0.9 * allowed and not violations(servers)


def faults(setup: Setup) -> bool:
    count, renderer, root = setup.feedstocks, setup.renderer, setup.root
    injected = Faults({"5xx": 0.1, "drop": 0.1, "primary": 0.1, "secondary": 0.1}, git=True)
    azure_injected = AzureFaults({"5xx": 0.05, "drop": 0.05, "drop-after": 0.05, "429": 0.05,
                                  "delay": 0.05})
    servers = organisation(setup, faults=injected, azure_faults=azure_injected)
    forge = forge_for(servers, root, unpaced(), backoff=0.1)
    summary = migrate(servers, forge, root, renderer, azure_unpaced())
    names, bad, _ = report_run(f"{count} feedstocks with faults on both services", servers,
                               forge, summary, root)
    print(f"faults injected by GitHub: {dict(injected.injected)}; by Azure DevOps: "
          f"{dict(azure_injected.injected)}")
    print(f"faults survived by the GitHub client: {forge.pacer.budget().faults}")
    servers.github.stop()
    servers.azure.stop()
    return not bad and not violations(servers)


def main() -> int:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feedstocks", type=int, default=240,
                        help="of the full run; with the default share of real feedstocks "
                             "(some of which are refused for their CI), over 200 are "
                             "provisioned")
    parser.add_argument("--corpus-share", type=float, default=0.15,
                        help="largest share of real corpus feedstocks (default: 0.15)")
    parser.add_argument("--ceiling-feedstocks", type=int, default=100)
    parser.add_argument("--fault-feedstocks", type=int, default=100)
    parser.add_argument("--renderer", default="patch", help="patch, none, conda-smithy")
    args = parser.parse_args()
    os.environ["STAGING_BINSTAR_TOKEN"] = STAGING
    started = time.monotonic()
    results = []
    for run, count in ((full_size, args.feedstocks), (ceilings, args.ceiling_feedstocks),
                       (faults, args.fault_feedstocks)):
        with tempfile.TemporaryDirectory(prefix="bench-github-") as tmp:
            results.append(run(Setup(count, args.renderer, args.corpus_share, Path(tmp))))
    print(f"\nall checks {'passed' if all(results) else 'FAILED'} "
          f"in {time.monotonic() - started:.0f} s")
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
