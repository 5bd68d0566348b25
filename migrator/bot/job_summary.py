"""What admins read after a scheduled run: a Markdown job summary (counts, failures by
reason, budget, the time left at the measured rate) and an SVG chart of the migration's
course, one point per run."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from migrator.bot.run_history import RunLine

WIDTH, HEIGHT, MARGIN = 640, 240, 40


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


def chart(history: list[RunLine], *, title: str) -> str:
    """Done (and failed) feedstocks after each run, as a small SVG line chart."""
    top = max([r.done + r.failed + r.skipped + r.pending for r in history] + [1])
    count = max(len(history) - 1, 1)

    def point(index: int, value: int) -> str:
        x = MARGIN + (WIDTH - 2 * MARGIN) * index / count
        y = HEIGHT - MARGIN - (HEIGHT - 2 * MARGIN) * value / top
        return f"{x:.1f},{y:.1f}"

    done = " ".join(point(i, r.done) for i, r in enumerate(history))
    failed = " ".join(point(i, r.failed) for i, r in enumerate(history))
    dots = "".join(f'<circle class="run" cx="{point(i, r.done).split(",")[0]}" '
                   f'cy="{point(i, r.done).split(",")[1]}" r="3"><title>{escape(r.at)}: '
                   f'{r.done} done</title></circle>' for i, r in enumerate(history))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">'
        f'<title>{escape(title)}</title>'
        f'<text x="{MARGIN}" y="20">{escape(title)}: {history[-1].done if history else 0} '
        f'of {top} done</text>'
        f'<line x1="{MARGIN}" y1="{HEIGHT - MARGIN}" x2="{WIDTH - MARGIN}" '
        f'y2="{HEIGHT - MARGIN}" stroke="#999"/>'
        f'<polyline fill="none" stroke="#2a7" stroke-width="2" points="{done}"/>'
        f'<polyline fill="none" stroke="#c33" stroke-width="1" points="{failed}"/>'
        f'{dots}</svg>\n'
    )
