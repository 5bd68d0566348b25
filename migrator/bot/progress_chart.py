"""The progress chart of a migration: done and failed feedstocks after each run, one point
per run, as a small SVG people can look at in the repository."""

from __future__ import annotations

from xml.sax.saxutils import escape

from migrator.bot.run_history import RunLine

WIDTH, HEIGHT, MARGIN = 640, 240, 40


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
