#!/usr/bin/env python3
"""Benchmark `forge init`: wall time and disk use of a seeded local forge.

Creates a forge of `--small` feedstocks and one of `--count` feedstocks (default 30,000)
in a temporary folder, and prints for each the wall and CPU time, and the disk used by
the repositories (`git/`) and the Azure Pipelines store (`azure/`) as `du` counts it
(allocated blocks) and as apparent size. The machine's load average is printed too:
other work on the machine shows in the times.

    .venv/bin/python scripts/bench_forge_init.py [--count 30000] [--small 1000]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from testing.seed import create_forge, describe  # noqa: E402


def du_kib(path: Path, *, apparent: bool = False) -> int:
    args = ["du", "-sk", *(["--apparent-size"] if apparent else []), str(path)]
    return int(subprocess.run(args, capture_output=True, text=True, check=True).stdout.split()[0])


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measure(base: Path, count: int, *, workers: int | None, keep: bool) -> None:
    root = base / f"forge-{count}"
    load = os.getloadavg()[0]
    cpu, started = cpu_seconds(), time.perf_counter()
    forge = create_forge(root, count=count, workers=workers)
    took, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    repos = describe(forge)["feedstocks"] + 2  # and the two registries
    git_kib, azure_kib = du_kib(root / "git"), du_kib(root / "azure")
    apparent = du_kib(root / "git", apparent=True)
    print(f"forge init --count {count}: {repos} repositories in {took:.1f} s wall, "
          f"{cpu:.1f} s CPU (load average before: {load:.1f})")
    print(f"  git/   {git_kib / 1024:8.1f} MiB on disk, {git_kib / repos:5.1f} KiB per "
          f"repository ({apparent / repos:.1f} KiB apparent)")
    print(f"  azure/ {azure_kib / 1024:8.1f} MiB on disk; total "
          f"{(git_kib + azure_kib) / 1024 / 1024:.2f} GiB")
    if not keep:
        shutil.rmtree(root)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=30_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--dir", type=Path, default=None,
                        help="where to create the forges (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="leave the forges on disk")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="bench-forge-init-", dir=args.dir))
    try:
        for count in (args.small, args.count):
            measure(base, count, workers=args.workers, keep=args.keep)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
