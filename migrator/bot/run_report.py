"""Summaries of a state directory for people (`migrator status`) and machines (--json,
described by `status.schema.json` beside this module). They read the summary index,
not the records."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from migrator.bot.state import DONE, FAILED, IN_PROGRESS, PENDING, SKIPPED, StateDir
from migrator.bot.state_index import SCHEMA
from migrator.forges import RepoInfo

STATUSES = (DONE, FAILED, SKIPPED, IN_PROGRESS, PENDING)


def collect(state: StateDir, repos: list[RepoInfo] | None, *,
            rows: bool = True) -> dict[str, Any]:
    """Totals and failures by reason, and (with `rows`) one row per feedstock."""
    index = state.index()
    if repos is not None:  # a listing may name a repository twice (pages that shifted)
        repos = list({repo.id: repo for repo in repos}.values())
    selected = index.values() if repos is None else [
        row for row in map(index.get, [r.id for r in repos]) if row is not None]
    counts: Counter[str] = Counter(row.status for row in selected)
    by_code: dict[str, list[str]] = defaultdict(list)
    for row in selected:
        if row.status in (FAILED, SKIPPED):
            by_code[f"{row.status}:{row.code or 'unknown'}"].append(row.feedstock)
    pending = [] if repos is None else [r for r in repos if r.id not in index]
    counts[PENDING] += len(pending)
    summary = {
        "schema_version": SCHEMA,
        "migration": state.migration,
        "totals": {k: counts.get(k, 0) for k in STATUSES},
        "reasons": {k: sorted(v) for k, v in sorted(by_code.items())},
    }
    if rows:
        summary["feedstocks"] = sorted(
            [{"name": row.feedstock, "repo_id": row.repo_id, "status": row.status,
              "reason_code": row.code or None, "last_step": row.step or None, "at": row.at}
             for row in selected]
            + [{"name": repo.name, "repo_id": repo.id, "status": PENDING,
                "reason_code": None, "last_step": None, "at": None} for repo in pending],
            key=lambda entry: (entry["name"], entry["repo_id"]))
    return summary


def format_text(summary: dict[str, Any], *, limit: int = 10) -> str:
    totals = summary["totals"]
    lines = [f"{summary['migration']}: " + ", ".join(f"{v} {k}" for k, v in totals.items())]
    for key, names in summary["reasons"].items():
        shown = ", ".join(names[:limit]) + (f", ... (+{len(names) - limit})"
                                            if len(names) > limit else "")
        lines.append(f"  {len(names):>5}  {key}")
        lines.append(f"         {shown}")
    return "\n".join(lines)
