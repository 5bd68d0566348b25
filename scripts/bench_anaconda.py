#!/usr/bin/env python3
"""Benchmark of the validation service on anaconda.org channels (the stand-in server).

Stages PACKAGES real packages on cf-staging, then has the service copy each through
quarantine to production (token check, staging checks, download and inspection,
two server-side copies, cleanup), one request per package, while the server adds a
fixed LATENCY to every API and storage call. Prints, per copied package: the calls
made (by kind), the wall time, the latency floor (calls x latency: the calls of one
request are sequential, so no request can be faster) and the time the server's sleeps
really took (a sleep overshoots by a fraction of a millisecond), and the service time
beyond that latency (wall - slept: our code, the HTTP client, the registry reads on
the local forge, the journal's fsyncs and the stand-in server's own handling). A
second pass runs WORKERS requests at a time and prints the throughput.

    .venv/bin/python scripts/bench_anaconda.py [--packages 20] [--latency-ms 5] [--workers 4]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from migrator.channels.anaconda import AnacondaChannel  # noqa: E402
from migrator.channels.anaconda_http import AnacondaApi, RetryPolicy  # noqa: E402
from migrator.channels.base import hash_file  # noqa: E402
from migrator.channels.dists import Dist, parse_dist  # noqa: E402
from migrator.core.secret import Secret  # noqa: E402
from migrator.service.anaconda_setup import anaconda_service  # noqa: E402
from migrator.service.core import Service  # noqa: E402
from testing.anaconda_server.fixtures import STAGING, new_site  # noqa: E402
from testing.build_package import build_package  # noqa: E402
from testing.outputs_support import build_env  # noqa: E402


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--packages", type=int, default=20)
    parser.add_argument("--latency-ms", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-anaconda-") as tmp:
        return run(args, Path(tmp))


def stage(site_tokens: dict[str, str], url: str, folder: Path, count: int, tag: str
          ) -> list[tuple[Dist, str]]:
    staging = AnacondaChannel(AnacondaApi(url, Secret(site_tokens[STAGING])), STAGING)
    staged = []
    for i in range(count):
        path = build_package(folder / tag, name="pkg00000", version=f"{tag}.{i}")
        dist = parse_dist(f"noarch/{path.name}")
        staging.upload(path, dist)
        staged.append((dist, hash_file(path).sha256))
    return staged


def copy_one(service: Service, token: Secret, dist: Dist, sha256: str) -> float:
    body = {"feedstock": "pkg00000-feedstock", "outputs": {dist.key: sha256},
            "channel": "main", "git_sha": "a" * 40, "hash_type": "sha256",
            "provider": "github_actions", "comment_on_error": False}
    started = time.perf_counter()
    report = service.copy(body, token)
    seconds = time.perf_counter() - started
    if report.status_code != 200:
        raise SystemExit(f"copy of {dist.key} failed: {report.to_json()}")
    return seconds


def run(args: argparse.Namespace, tmp: Path) -> int:
    latency = args.latency_ms / 1000
    print("provisioning a local forge (token and outputs registries) ...", flush=True)
    env = build_env(tmp / "env")
    site = new_site()
    server = site.server
    try:
        policy = RetryPolicy(backoff=0.05)
        service = anaconda_service(env.forge, state_dir=tmp / "state", base_url=server.url,
                                   environ=site.environ(), policy=policy)
        print(f"staging {args.packages} packages, twice ...", flush=True)
        serial = stage(site.tokens, server.url, tmp / "built", args.packages, "1")
        parallel = stage(site.tokens, server.url, tmp / "built", args.packages, "2")
        mark = len(server.entries(None))
        copy_one(service, env.token, *serial[0])  # warm: the token check's scrypt, caches
        listing = [e for e in server.entries(None)[mark:]
                   if e.kind == "conda" or e.path.startswith("/channels/")]
        serial = serial[1:]

        server.latency = latency
        mark, delayed = len(server.entries(None)), server.delayed
        times = [copy_one(service, env.token, dist, sha) for dist, sha in serial]
        calls = server.entries(None)[mark:]
        slept = server.delayed - delayed

        mark = len(server.entries(None))
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.workers) as pool:
            list(pool.map(lambda item: copy_one(service, env.token, *item), parallel))
        wall = time.perf_counter() - started
        parallel_calls = len(server.entries(None)[mark:])
    finally:
        server.stop()

    n = len(serial)
    kinds = Counter(f"{e.method} /{e.path.split('/')[1]}" for e in calls)
    per_package = len(calls) / n
    mean = statistics.fmean(times)
    floor = per_package * latency
    print()
    print(f"per copied package, one request at a time ({n} packages, "
          f"{args.latency_ms:g} ms per call):")
    print(f"  calls: {per_package:.1f}  ("
          + ", ".join(f"{k} {v / n:g}" for k, v in sorted(kinds.items())) + ")")
    print(f"  wall:  mean {mean * 1000:.1f} ms, median {statistics.median(times) * 1000:.1f} ms")
    spent = slept / n
    print(f"  latency floor (calls x latency): {floor * 1000:.1f} ms; the server's sleeps "
          f"really took {spent * 1000:.1f} ms")
    print(f"  service time beyond the latency: {(mean - spent) * 1000:.1f} ms "
          f"({(mean - spent) / mean:.0%} of the wall time)")
    print(f"  production's file names (the case check), read by the first request only: "
          f"{len(listing)} call(s) ("
          + ", ".join(f"{k} {v}" for k, v in sorted(Counter(
              f"{e.method} /{e.path.split('/')[1]}" for e in listing).items()))
          + "), then kept 300 s and revalidated by ETag")
    print(f"{args.workers} requests at a time: {len(parallel)} packages in {wall:.2f} s = "
          f"{len(parallel) / wall:.1f} packages/s, {parallel_calls / len(parallel):.1f} "
          "calls each")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
