"""What a finished output-validation migration must have left on the stand-in GitHub, and
what it cost, read from the server's own records."""

from __future__ import annotations

import statistics
import subprocess
from collections import Counter
from typing import NamedTuple

from migrator.core.secret import Secret
from migrator.feedstock import cfyml
from migrator.registries import token_file as registry_file
from migrator.registries.token_hashing import verify
from testing.github_server.server import Entry, GithubServer

STAGING = "STAGING_BINSTAR_TOKEN"


def _show(server: GithubServer, repo: str, rev: str) -> str | None:
    git_dir = server.model.repos[repo].git_dir
    proc = subprocess.run(["git", "show", rev], cwd=git_dir, capture_output=True, text=True)
    return proc.stdout if proc.returncode == 0 else None


def provisioning_problems(server: GithubServer, feedstock: str, staging: str) -> list[str]:
    """Empty when the feedstock is fully provisioned: its secret decrypts to a token the
    registry verifies, CI can read the staging token, and conda-forge.yml has the key."""
    problems = []
    repo = server.model.repos[feedstock]
    secrets = server.model.ci_secrets(feedstock)
    token = secrets.get("FEEDSTOCK_TOKEN")
    text = _show(server, "feedstock-tokens", f"main:tokens/{feedstock}.json")
    if token is None:
        problems.append("no FEEDSTOCK_TOKEN secret")
    elif text is None:
        problems.append("no registry file")
    elif not verify(Secret(token), registry_file.parse(text, where=feedstock),
                    provider="github_actions"):
        problems.append("the secret does not verify against the registry")
    if secrets.get(STAGING) != staging:
        problems.append(f"CI cannot read {STAGING}")
    config = _show(server, feedstock, f"{repo.default_branch}:conda-forge.yml")
    if config is None or not cfyml.is_enabled(config):
        problems.append(f"conda-forge.yml lacks {cfyml.KEY}: true")
    return problems


class Cost(NamedTuple):
    rest: float  # REST requests per feedstock (mean)
    rest_max: int
    writes: float  # content-creating REST requests per feedstock (mean)
    writes_max: int
    git: float  # git HTTP requests per feedstock (mean)
    overhead_rest: int  # organisation-wide REST requests (listing, org secret, registry)
    overhead_git: int


def cost(entries: list[Entry], feedstocks: list[str]) -> Cost:
    rest: Counter[str] = Counter()
    writes: Counter[str] = Counter()
    git: Counter[str] = Counter()
    overhead_rest = overhead_git = 0
    names = set(feedstocks)
    for entry in entries:
        mine = entry.repo in names
        if entry.kind == "api":
            if mine:
                rest[entry.repo or ""] += 1
                writes[entry.repo or ""] += entry.write
            else:
                overhead_rest += 1
        elif mine:
            git[entry.repo or ""] += 1
        else:
            overhead_git += 1
    counts = [rest[n] for n in feedstocks] or [0]
    wcounts = [writes[n] for n in feedstocks] or [0]
    gcounts = [git[n] for n in feedstocks] or [0]
    return Cost(statistics.mean(counts), max(counts), statistics.mean(wcounts), max(wcounts),
                statistics.mean(gcounts), overhead_rest, overhead_git)


def write_rate(entries: list[Entry], feedstocks: list[str]) -> tuple[int, float]:
    """Secret writes of these feedstocks, and their rate (per second) from first to last."""
    names = set(feedstocks)
    times = sorted(e.at for e in entries
                   if e.write and e.repo in names and e.fault is None and e.status < 400)
    if len(times) < 2:
        return len(times), 0.0
    return len(times), (len(times) - 1) / (times[-1] - times[0])
