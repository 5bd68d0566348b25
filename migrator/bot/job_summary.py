"""What admins read after a scheduled run: a Markdown job summary (counts, failures by
reason, budget, the time left at the measured rate) and an SVG chart of the migration's
course, one point per run."""

from __future__ import annotations

from typing import Any

from migrator.bot.run_history import RunLine


def markdown(summary: dict[str, Any], history: list[RunLine], *,
             budget: str | None = None) -> str:
    totals = summary["totals"]
    known = sum(totals.values())
    lines = [f"## {summary['migration']}", "",
             "| done | failed | skipped | in progress | pending | all |",
             "|---:|---:|---:|---:|---:|---:|",
             f"| {totals['done']} | {totals['failed']} | {totals['skipped']} | "
             f"{totals['in-progress']} | {totals['pending']} | {known} |", ""]
    if history:
        last = history[-1]
        lines.append(f"Last run: {last.worked} feedstocks in {last.seconds / 60:.1f} min "
                     f"({last.at}).")
        lines.append(f"Time to finish the organisation: {eta(history, totals)}.")
    if budget:
        lines.append(f"Budget: {budget}.")
    if summary["reasons"]:
        lines += ["", "| reason | feedstocks | examples |", "|---|---:|---|"]
        for key, names in summary["reasons"].items():
            shown = ", ".join(names[:5]) + (" ..." if len(names) > 5 else "")
            lines.append(f"| `{key}` | {len(names)} | {shown} |")
    return "\n".join(lines) + "\n"


def eta(history: list[RunLine], totals: dict[str, int]) -> str:
    """At the pace of the runs so far (feedstocks per hour of calendar time)."""
    left = totals["pending"] + totals["in-progress"]
    if left == 0:
        return "done"
    worked = sum(r.worked for r in history)
    if len(history) < 2 or worked == 0:
        return "unknown until two runs have been recorded"
    from datetime import datetime

    span = (datetime.fromisoformat(history[-1].at)
            - datetime.fromisoformat(history[0].at)).total_seconds()
    if span <= 0:
        return "unknown"
    per_hour = worked / (span / 3600)
    return f"about {left / per_hour:.0f} h at {per_hour:.0f} feedstocks an hour"


