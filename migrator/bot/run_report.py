"""Summaries of a state directory for people (`migrator status`) and machines (--json)."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from migrator.bot.state import DONE, FAILED, IN_PROGRESS, PENDING, SKIPPED, StateDir
from migrator.forges import RepoInfo


def collect(state: StateDir, repos: list[RepoInfo] | None) -> dict[str, Any]:
    counts: Counter[str] = Counter()
    failures: dict[str, list[str]] = defaultdict(list)
    skips: dict[str, list[str]] = defaultdict(list)
    seen: set[int] = set()
    wanted = None if repos is None else {r.id for r in repos}
    for record in state.records():
        if wanted is not None and record["repo_id"] not in wanted:
            continue
        seen.add(record["repo_id"])
        status = record.get("status", PENDING)
        counts[status] += 1
        if status == FAILED:
            failures[_reason(record)].append(record["feedstock"])
        elif status == SKIPPED:
            skips[record.get("reason", "skipped")].append(record["feedstock"])
    if repos is not None:
        counts[PENDING] += sum(1 for r in repos if r.id not in seen)
    return {
        "migration": state.migration,
        "counts": {k: counts.get(k, 0) for k in (DONE, FAILED, SKIPPED, IN_PROGRESS, PENDING)},
        "failed": {k: sorted(v) for k, v in sorted(failures.items())},
        "skipped": {k: sorted(v) for k, v in sorted(skips.items())},
    }


def _reason(record: dict[str, Any]) -> str:
    reason = str(record.get("reason", "unknown"))
    # group by what went wrong, not by which branch it went wrong on
    step, _, detail = reason.partition(": ")
    return f"{step.split('@')[0]}: {detail}" if detail else reason


def format_text(summary: dict[str, Any], *, limit: int = 10) -> str:
    counts = summary["counts"]
    lines = [f"{summary['migration']}: " + ", ".join(f"{v} {k}" for k, v in counts.items())]
    for title, groups in (("failed", summary["failed"]), ("skipped", summary["skipped"])):
        if not groups:
            continue
        lines.append(f"{title}:")
        for reason, names in groups.items():
            shown = ", ".join(names[:limit]) + (f", ... (+{len(names) - limit})"
                                                if len(names) > limit else "")
            lines.append(f"  {len(names):>5}  {reason}")
            lines.append(f"         {shown}")
    return "\n".join(lines)
