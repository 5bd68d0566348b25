#!/usr/bin/env python3
"""Benchmark the builtin renderer.

Builds N feedstocks in memory from the vendored corpus (the full render sets that the
builtin renderer can render, cycled, each with `conda_forge_output_validation: true`),
renders each one and prints the render time per feedstock: mean, p50, p95 and max.
With --on-disk each feedstock is first written to a working copy and rendered there
(reading inputs, rendering, writing files), as the migration does.

    /tmp/venv/bin/python scripts/bench_render.py [--count 1000] [--on-disk]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from migrator.core.errors import MigratorError  # noqa: E402
from migrator.feedstock.cfyml import enable_output_validation  # noqa: E402
from migrator.rerender.builtin import BuiltinRenderer, render_feedstock  # noqa: E402

CORPUS = ROOT / "testing" / "corpus" / "feedstocks"
INPUTS = ("conda-forge.yml", "recipe/", ".ci_support/")


def corpus_feedstocks() -> list[dict[str, bytes]]:
    """The renderable full render sets, with the output validation key set."""
    found = []
    for entry in json.loads((CORPUS / "INDEX.json").read_text()):
        if "full-render-set" not in entry["traits"]:
            continue
        files = {
            path: (CORPUS / entry["feedstock"] / path).read_bytes()
            for path in entry["files"] if path.startswith(INPUTS)
        }
        try:
            edited = enable_output_validation(files.get("conda-forge.yml", b"{}").decode())
            if edited is not None:
                files["conda-forge.yml"] = edited.encode()
            render_feedstock(files)
        except MigratorError:
            continue  # not renderable by the builtin renderer (see the corpus tests)
        found.append(files)
    return found


def seeded(count: int) -> list[dict[str, bytes]]:
    base = corpus_feedstocks()
    return [base[index % len(base)] for index in range(count)]


def time_in_memory(feedstocks: list[dict[str, bytes]]) -> list[float]:
    timings = []
    for files in feedstocks:
        started = time.perf_counter()
        render_feedstock(files)
        timings.append(time.perf_counter() - started)
    return timings


def time_on_disk(feedstocks: list[dict[str, bytes]]) -> list[float]:
    renderer = BuiltinRenderer()
    timings = []
    with tempfile.TemporaryDirectory(prefix="bench-render-") as scratch:
        for index, files in enumerate(feedstocks):
            workdir = Path(scratch) / f"f{index}"
            for path, data in files.items():
                (workdir / path).parent.mkdir(parents=True, exist_ok=True)
                (workdir / path).write_bytes(data)
            started = time.perf_counter()
            renderer.render(workdir)
            timings.append(time.perf_counter() - started)
    return timings


# ---------------------------------------------------------------------------------------
# HOOK: the share of a whole migration's time that is spent rendering.
# Return the wall time, in seconds, of running the output-validation migration
# (migrator.bot.runner) over `count` seeded feedstocks with the builtin renderer, or None
# while this is not wired. The report divides the render time by it.
# ---------------------------------------------------------------------------------------
def migration_seconds(*, count: int) -> float | None:
    """Run the whole output-validation migration of `count` feedstocks on a local forge
    and print the rerender step's share of the time spent in steps."""
    import tempfile

    from migrator.bot import migrations
    from migrator.bot.runner import run_migration
    from migrator.bot.state import StateDir
    from migrator.bot.task import Options
    from testing.seed import create_forge

    with tempfile.TemporaryDirectory(prefix="bench-render-") as tmp:
        forge = create_forge(Path(tmp) / "forge", count=count, corpus_share=0)
        migration = migrations.get("output-validation")
        state = StateDir(Path(tmp) / "state", migration.name)
        summary = run_migration(forge, migration, state, Options(renderer="builtin"))
        per_step: dict[str, float] = {}
        for record in state.records():
            for key, step in record.get("steps", {}).items():
                name = key.split("@")[0]
                per_step[name] = per_step.get(name, 0.0) + step.get("seconds", 0.0)
    total = sum(per_step.values())
    shares = ", ".join(f"{k} {100 * v / total:.0f}%" for k, v in per_step.items())
    print(f"migration of {count} feedstocks: {summary.seconds:.1f} s wall; time in steps: "
          f"{shares}")
    print(f"rerender step (render + commit + push) share of step time: "
          f"{100 * per_step.get('rerender', 0.0) / total:.1f} %")
    return summary.seconds


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def report(timings: list[float], *, label: str, migration: Callable[..., float | None]) -> None:
    ms = [t * 1000 for t in timings]
    total = sum(timings)
    print(f"rendered {len(timings)} feedstocks ({label}) in {total:.2f} s")
    print(
        f"render time per feedstock: mean {statistics.mean(ms):.2f} ms, "
        f"p50 {percentile(ms, 0.50):.2f} ms, p95 {percentile(ms, 0.95):.2f} ms, "
        f"max {max(ms):.2f} ms"
    )
    whole = migration(count=len(timings))
    if whole is None:
        print("share of migration time spent rendering: n/a (migration_seconds hook not wired)")
    else:
        print(f"share of migration time spent rendering: {100 * total / whole:.1f} % "
              f"({total:.1f} s of {whole:.1f} s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--on-disk", action="store_true",
                        help="render working copies (read, render, write) instead of memory")
    args = parser.parse_args(argv)
    feedstocks = seeded(args.count)
    if args.on_disk:
        timings, label = time_on_disk(feedstocks), "working copies"
    else:
        timings, label = time_in_memory(feedstocks), "in memory"
    report(timings, label=label, migration=migration_seconds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
