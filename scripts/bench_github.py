#!/usr/bin/env python3
"""Benchmark the GitHub forge against the stand-in GitHub (tests/github_server).

Three runs of the output-validation migration, each on a fresh organisation:
  1. full size, App authentication: every feedstock checked (its decrypted secret verifies
     against the registry, CI can read the staging token, conda-forge.yml has the key),
     requests per feedstock counted by the server, then a second run over the finished
     organisation to count what an already-done feedstock costs;
  2. with the server enforcing write ceilings (GitHub's, with time scaled down): limit
     answers received and the share of the allowed write rate kept;
  3. with 10% injected faults of each kind: every feedstock still correct, faults survived.

Usage: python scripts/bench_github.py [--feedstocks 200] [--renderer builtin]
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

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from migrator.bot import migrations  # noqa: E402
from migrator.bot.runner import RunSummary, run_migration  # noqa: E402
from migrator.bot.state import StateDir  # noqa: E402
from migrator.bot.task import Options  # noqa: E402
from migrator.forges.github import GithubForge, github_forge_from_env  # noqa: E402
from migrator.forges.local import LocalForge  # noqa: E402
from migrator.forges.pacing import Ceiling, Pacer  # noqa: E402
from testing.github_server import Faults, GithubServer  # noqa: E402
from testing.github_server.checks import cost, provisioning_problems, write_rate  # noqa: E402
from testing.seed import create_forge  # noqa: E402

STAGING = "staging-token-for-the-benchmark"
MIGRATION = migrations.get("output-validation")


def organisation(root: Path, count: int, **config: object) -> GithubServer:
    create_forge(root / "forge", count=count)  # forks workers: before any thread starts
    server = GithubServer(**config).start()  # type: ignore[arg-type]
    server.model.import_local(LocalForge(root / "forge"))
    return server


def forge_for(server: GithubServer, root: Path, pacer: Pacer, backoff: float) -> GithubForge:
    return github_forge_from_env(server.app_env(), org=server.model.org, pacer=pacer,
                                 cache_dir=root / "cache", backoff=backoff)


def migrate(forge: GithubForge, root: Path, renderer: str, **options: object) -> RunSummary:
    return run_migration(forge, MIGRATION, StateDir(root / "state", MIGRATION.name),
                         Options(renderer=renderer, **options))  # type: ignore[arg-type]


def failures(root: Path) -> dict[str, str]:
    found = {}
    for path in (root / "state" / MIGRATION.name).glob("*/*.json"):
        record = json.loads(path.read_text())
        if record["status"] == "failed":
            found[record["feedstock"]] = str(record.get("reason", "?"))[:100]
    return found


def verify(server: GithubServer, forge: GithubForge,
           root: Path) -> tuple[list[str], dict[str, list[str]]]:
    """Every feedstock must be provisioned, unless its failure is recorded with a reason
    (a feedstock the renderer refuses is never switched over)."""
    failed = failures(root)
    names = [r.name for r in forge.list_feedstocks() if not r.archived and r.name not in failed]
    bad = {n: p for n in names if (p := provisioning_problems(server, n, STAGING))}
    return names, bad


def report_run(title: str, server: GithubServer, forge: GithubForge, summary: RunSummary,
               root: Path) -> tuple[list[str], dict[str, list[str]]]:
    names, bad = verify(server, forge, root)
    print(f"\n== {title}")
    print(f"outcomes: {dict(summary.outcomes)} in {summary.seconds:.1f} s "
          f"({len(names) / summary.seconds:.1f} feedstocks/s)")
    print(f"feedstocks correct: {len(names) - len(bad)} of the {len(names)} not failed "
          f"(archived ones are skipped, never pushed to)")
    for reason, count in Counter(failures(root).values()).most_common(5):
        print(f"  failed x{count}: {reason}")
    print(f"requests outside GitHub's description: {len(server.checker.violations)} "
          f"(checked {server.checker.checked['requests']} requests, "
          f"{server.checker.checked['responses']} answers)")
    return names, bad


def unpaced() -> Pacer:
    """Ceilings that never bind, for runs whose server enforces none."""
    return Pacer(ceilings=(Ceiling(100_000, 1.0),), max_wait=60.0, secondary_wait=1.0)


def full_size(count: int, renderer: str, root: Path) -> bool:
    server = organisation(root, count)
    forge = forge_for(server, root, unpaced(), backoff=0.2)
    summary = migrate(forge, root, renderer)
    names, bad = report_run(f"full migration of {count} feedstocks (App auth)", server, forge,
                            summary, root)
    spent = cost(server.entries(), names)
    print(f"provisioning, per feedstock: {spent.rest:.2f} REST requests (max "
          f"{spent.rest_max}), {spent.writes:.2f} content-creating (max {spent.writes_max}), "
          f"{spent.git:.2f} git HTTP requests")
    print(f"organisation-wide: {spent.overhead_rest} REST requests, {spent.overhead_git} git "
          f"HTTP requests (listing, staging secret, token registry)")
    before = len(server.entries())
    again_forge = forge_for(server, root, unpaced(), backoff=0.2)
    again = migrate(again_forge, root, renderer)
    later = server.entries()[before:]
    done_cost = cost(later, names)
    print(f"already done, per feedstock: {done_cost.rest:.2f} REST, {done_cost.writes:.2f} "
          f"content-creating, {done_cost.git:.2f} git; the rerun made {len(later)} requests "
          f"in all ({Counter(e.status for e in later)}), untouched {dict(again.untouched)}")
    budget = forge.budget()
    print(f"client count: {budget.requests} REST requests, {budget.writes} content-creating; "
          f"primary limit remaining {budget.remaining}")
    server.stop()
    return not bad and not server.checker.violations


def ceilings(count: int, renderer: str, root: Path) -> bool:
    scale = 15.0  # GitHub's minute is 4 s here, its hour 4 minutes
    limits = ((80, 60.0 / scale), (500, 3600.0 / scale))
    server = organisation(root, count, ceilings=limits)
    run_budget = 300.0  # this run's --time-budget, in scaled time
    pacer = Pacer(ceilings=tuple(Ceiling(n, s) for n, s in limits), max_wait=60.0,
                  deadline=time.monotonic() + run_budget)
    forge = forge_for(server, root, pacer, backoff=0.2)
    summary = migrate(forge, root, renderer, batch_size=count, jobs=6)
    names, bad = report_run(f"{count} feedstocks under write ceilings "
                            f"{[(n, round(s, 1)) for n, s in limits]} (GitHub's / {scale:g})",
                            server, forge, summary, root)
    writes, rate = write_rate(server.entries(), names)
    allowed = min(n / s for n, s in limits)
    refused = sum(server.limits.refused.values())
    print(f"limit answers from the server: {refused}; seen by the client: "
          f"{forge.pacer.limit_answers}")
    print(f"secret writes: {writes} at {rate:.2f}/s = {rate / allowed:.0%} of the allowed "
          f"{allowed:.2f}/s")
    budget = forge.budget(requests_per_feedstock=3, writes_per_feedstock=1)
    print(f"budget reported: {budget.requests} requests used ({budget.writes} content-"
          f"creating), primary remaining {budget.remaining}, {budget.writes_left} writes and "
          f"{budget.feedstocks_left} feedstocks still fit in this run's {run_budget:.0f} s")
    server.stop()
    return not bad and not refused and rate >= 0.9 * allowed


def faults(count: int, renderer: str, root: Path) -> bool:
    injected = Faults({"5xx": 0.1, "drop": 0.1, "primary": 0.1, "secondary": 0.1}, git=True)
    server = organisation(root, count, faults=injected)
    forge = forge_for(server, root, unpaced(), backoff=0.1)
    summary = migrate(forge, root, renderer)
    names, bad = report_run(f"{count} feedstocks with 10% faults of each kind", server, forge,
                            summary, root)
    print(f"faults injected by the server: {dict(injected.injected)}")
    print(f"faults survived by the client: {forge.budget().faults}")
    server.stop()
    return not bad and not server.checker.violations


def main() -> int:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feedstocks", type=int, default=200)
    parser.add_argument("--ceiling-feedstocks", type=int, default=100)
    parser.add_argument("--fault-feedstocks", type=int, default=100)
    parser.add_argument("--renderer", default="builtin", help="builtin, none, conda-smithy")
    args = parser.parse_args()
    os.environ["STAGING_BINSTAR_TOKEN"] = STAGING
    started = time.monotonic()
    results = []
    for run, count in ((full_size, args.feedstocks), (ceilings, args.ceiling_feedstocks),
                       (faults, args.fault_feedstocks)):
        with tempfile.TemporaryDirectory(prefix="bench-github-") as tmp:
            results.append(run(count, args.renderer, Path(tmp)))
    print(f"\nall checks {'passed' if all(results) else 'FAILED'} "
          f"in {time.monotonic() - started:.0f} s")
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
