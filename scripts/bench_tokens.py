#!/usr/bin/env python3
"""Benchmark token hashing and token-registry writes.

Prints, measured in the same run: the cost of one scrypt hash (and one verification),
and the registry write cost per feedstock when entries are committed in batches against
one commit and push per feedstock, with the ratio.

    .venv/bin/python scripts/bench_tokens.py [--count 300] [--batch 50]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from migrator.core.secret import Secret  # noqa: E402
from migrator.registries.token_hashing import hash_token  # noqa: E402
from migrator.registries.token_registry import Change, RegistryWriter  # noqa: E402
from migrator.registries.token_verify import verify  # noqa: E402
from testing.seed import create_forge  # noqa: E402


def hash_cost(rounds: int) -> tuple[float, float]:
    hashes, checks = [], []
    for _ in range(rounds):
        token = Secret.new_token()
        t0 = time.perf_counter()
        entry = hash_token(token)
        hashes.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        assert verify(token, [entry])
        checks.append(time.perf_counter() - t0)
    return statistics.median(hashes), statistics.median(checks)


def registry_cost(root: Path, *, count: int, batch: int) -> float:
    forge = create_forge(root, count=0)
    writer = RegistryWriter(forge, root.parent)
    entries = [hash_token(Secret.new_token()) for _ in range(min(count, 20))]
    started = time.perf_counter()
    for index in range(count):
        writer.stage(Change(f"pkg{index:05d}-feedstock", add=(entries[index % len(entries)],)))
        if writer.pending() >= batch:
            writer.flush()
    writer.flush()
    took = time.perf_counter() - started
    writer.close()
    return took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    one_hash, one_check = hash_cost(args.rounds)
    print(f"one token hash (scrypt N=16384 r=8 p=1, 256 bytes): {one_hash * 1000:.1f} ms; "
          f"one verification against one entry: {one_check * 1000:.1f} ms "
          f"(median of {args.rounds})")
    with tempfile.TemporaryDirectory(prefix="bench-tokens-") as tmp:
        batched = registry_cost(Path(tmp) / "a" / "forge", count=args.count, batch=args.batch)
        single = registry_cost(Path(tmp) / "b" / "forge", count=args.count, batch=1)
    print(f"registry writes for {args.count} feedstocks:")
    print(f"  batches of {args.batch}: {batched:.2f} s, {batched / args.count * 1000:.1f} ms "
          f"per feedstock ({-(-args.count // args.batch)} commits)")
    print(f"  one commit per feedstock: {single:.2f} s, {single / args.count * 1000:.1f} ms "
          f"per feedstock ({args.count} commits)")
    print(f"  ratio one-per-feedstock / batched: {single / batched:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
