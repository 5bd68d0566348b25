"""Benchmark of the validation service on the embedded default, against its floor.

Fills a production channel with EXISTING small packages (indexed once by a full
re-index), stages PACKAGES packages of PAYLOAD_KB each and BIG packages of BIG_MB each,
and copies them through the service (token check, staging checks, quarantine,
production, cleanup) with several requests in flight.

The floor is what validation cannot skip: each package's bytes hashed (sha256 and md5),
its members scanned and its repodata record built, once (`inspect_package`), on the
same files with the page cache as warm as for the copy. Floor and copy are measured in
interleaved slices (in alternating order, so that a drift of the machine's speed hits
both alike); the medians of the slices, and of their ratios, are printed, CPU time
(this process's threads and its child processes) beside wall time.

Names are claimed in the outputs registry off the request path; each slice's claims
are committed after its copy (one commit) and timed on their own.

    python scripts/bench_outputs.py [--packages 1000] [--existing 30000] [--big 40]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import resource
import shutil
import statistics
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from migrator.channels.directory import LocalChannel  # noqa: E402
from migrator.channels.dists import Dist, parse_dist  # noqa: E402
from migrator.channels.local_reindex import reindex  # noqa: E402
from migrator.channels.package import inspect_package  # noqa: E402
from migrator.core.git import git  # noqa: E402
from migrator.core.secret import Secret  # noqa: E402
from migrator.forges.sealing import seal  # noqa: E402
from migrator.registries import outputs_registry as registry  # noqa: E402
from migrator.registries.token_hashing import hash_token  # noqa: E402
from migrator.service import local_setup as layout  # noqa: E402
from migrator.service.core import Service  # noqa: E402
from testing.seed import create_forge  # noqa: E402

SUBDIR = "linux-64"
FEEDSTOCK = "pkg00000-feedstock"


# -- setup -----------------------------------------------------------------------------
def _filler(job: tuple[str, int, int]) -> int:
    folder, start, stop = job
    for i in range(start, stop):
        name, version = f"existing-{i // 10:05d}", f"1.{i % 10}"
        index = json.dumps({"name": name, "version": version, "build": "h0_0",
                            "build_number": 0, "subdir": SUBDIR, "depends": ["libzlib"],
                            "license": "MIT", "timestamp": 1700000000000 + i}).encode()
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:bz2", compresslevel=1) as tar:
            for member, data in (("info/index.json", index),
                                 (f"share/{name}/VERSION", version.encode())):
                info = tarfile.TarInfo(member)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        Path(folder, f"{name}-{version}-h0_0.tar.bz2").write_bytes(buffer.getvalue())
    return stop - start


def fill_production(channel: LocalChannel, count: int) -> None:
    folder = channel.root / SUBDIR
    folder.mkdir(parents=True, exist_ok=True)
    step = 1000
    jobs = [(str(folder), i, min(i + step, count)) for i in range(0, count, step)]
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        made = sum(pool.map(_filler, jobs))
    assert made == count


def _build(job: tuple[str, str, str, int, int]) -> str:
    """One package with an incompressible payload (zstd at level 1 for a .conda: the
    level changes how long building takes, not what the service does)."""
    from conda_package_handling import api

    from testing.build_package import build_package

    folder, name, fmt, size, seed = job
    create = api.create

    def fast(*args: Any, **kw: Any) -> Any:
        if str(args[2]).endswith(".conda"):
            kw.setdefault("compression_level", 1)
        return create(*args, **kw)

    api.create = fast
    payload = random.Random(seed).randbytes(size)
    return str(build_package(Path(folder), name=name, version="1.0", build="h0_0",
                             subdir=SUBDIR, fmt=fmt, files={f"share/{name}/data.bin": payload}))


def build_all(folder: Path, prefix: str, count: int, size: int, formats: list[str]
              ) -> list[Path]:
    jobs = [(str(folder), f"{prefix}-{i:04d}", formats[i % len(formats)], size, i)
            for i in range(count)]
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        return [Path(p) for p in pool.map(_build, jobs)]


def commit(forge_root: Path, repo: str, files: dict[str, str], tmp: Path) -> None:
    checkout = tmp / f"{repo}-checkout"
    git("clone", "--quiet", str(forge_root / "git" / f"{repo}.git"), str(checkout))
    for path, text in files.items():
        (checkout / path).parent.mkdir(parents=True, exist_ok=True)
        (checkout / path).write_text(text)
    git("add", "--all", cwd=checkout)
    git("commit", "--quiet", "-m", "bench setup", cwd=checkout)
    git("push", "--quiet", "origin", "HEAD:main", cwd=checkout)
    shutil.rmtree(checkout)


# -- measuring ---------------------------------------------------------------------------
class Cost(NamedTuple):
    wall: float
    cpu: float  # this process (all threads) and its finished child processes


@contextmanager
def measured(into: list[Cost]) -> Iterator[None]:
    def cpu() -> float:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.process_time() + children.ru_utime + children.ru_stime

    wall, used = time.perf_counter(), cpu()
    yield
    into.append(Cost(time.perf_counter() - wall, cpu() - used))


def counted(obj: Any, method: str) -> list[float]:
    """Wrap `obj.method` so that every call is timed."""
    spent: list[float] = []
    original = getattr(obj, method)

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - started)

    setattr(obj, method, timed)
    return spent


class Staged(NamedTuple):
    dist: Dist
    sha256: str


class Case(NamedTuple):
    title: str
    staged: list[Staged]
    slice_size: int


class Outcome(NamedTuple):
    floor: list[Cost]
    copy: list[Cost]
    claims: list[Cost]
    requests: int


def run_case(service: Service, token: Secret, case: Case, *, per_request: int,
             concurrency: int) -> Outcome:
    production = service.channels.production
    assert isinstance(production, LocalChannel)
    staging = service.channels.staging
    assert isinstance(staging, LocalChannel)
    outcome = Outcome([], [], [], 0)
    slices = [case.staged[i:i + case.slice_size]
              for i in range(0, len(case.staged), case.slice_size)]
    requests = 0

    def floor(part: list[Staged], channel: LocalChannel) -> None:
        with measured(outcome.floor):
            for item in part:
                inspect_package(channel.path(item.dist), item.dist)

    def copy(part: list[Staged]) -> None:
        nonlocal requests
        batches = [part[i:i + per_request] for i in range(0, len(part), per_request)]
        requests += len(batches)

        def send(batch: list[Staged]) -> list[str]:
            body = {"feedstock": FEEDSTOCK, "channel": "main", "hash_type": "sha256",
                    "outputs": {s.dist.key: s.sha256 for s in batch},
                    "comment_on_error": False}
            return [r.kind.value for r in service.copy(body, token).results.values()]

        with measured(outcome.copy), ThreadPoolExecutor(max_workers=concurrency) as pool:
            kinds = [k for found in pool.map(send, batches) for k in found]
        assert kinds == ["copied"] * len(part), {k: kinds.count(k) for k in set(kinds)}
        with measured(outcome.claims):
            service.flush_claims()

    for number, part in enumerate(slices):
        if number % 2 == 0:
            floor(part, staging)
            copy(part)
        else:  # the other order; the same bytes, now in production
            copy(part)
            floor(part, production)
    return outcome._replace(requests=requests)


def report(case: Case, outcome: Outcome) -> None:
    def med(costs: list[Cost], field: str) -> float:
        return statistics.median(getattr(c, field) for c in costs)

    def ratio(field: str, over: list[Cost]) -> float:
        return statistics.median(getattr(c, field) / getattr(f, field)
                                 for c, f in zip(over, outcome.floor, strict=True))

    with_claims = [Cost(c.wall + k.wall, c.cpu + k.cpu)
                   for c, k in zip(outcome.copy, outcome.claims, strict=True)]
    n = case.slice_size
    print(f"\n{case.title}: {len(outcome.floor)} slices of {n} packages, "
          f"{outcome.requests} requests")
    print(f"  {'median per slice':<34}{'wall':>10}{'cpu':>10}")
    for label, costs in (("floor (hash + scan + record)", outcome.floor),
                         ("copy (until every answer)", outcome.copy),
                         ("claims commit (after the answers)", outcome.claims)):
        print(f"  {label:<34}{med(costs, 'wall'):>9.3f}s{med(costs, 'cpu'):>9.3f}s")
    print(f"  {'copy / floor':<34}{ratio('wall', outcome.copy):>9.2f}x"
          f"{ratio('cpu', outcome.copy):>9.2f}x")
    spread = [c.wall / f.wall for c, f in zip(outcome.copy, outcome.floor, strict=True)]
    print(f"  {'  (wall, slice by slice, in order)':<34}" + " ".join(f"{r:.2f}" for r in spread))
    print(f"  {'(copy + claims) / floor':<34}{ratio('wall', with_claims):>9.2f}x"
          f"{ratio('cpu', with_claims):>9.2f}x")
    per = med(outcome.copy, "wall") / n
    print(f"  per package: copy {per * 1000:.1f} ms, floor "
          f"{med(outcome.floor, 'wall') / n * 1000:.1f} ms")


def stage_all(staging: LocalChannel, built: list[Path]) -> list[Staged]:
    staged = []
    for path in built:
        dist = parse_dist(f"{SUBDIR}/{path.name}")
        staging.upload(path, dist)
        staged.append(Staged(dist, hashlib.sha256(path.read_bytes()).hexdigest()))
        path.unlink()  # staging holds its own copy
    return staged


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--packages", type=int, default=1000)
    parser.add_argument("--payload-kb", type=int, default=64)
    parser.add_argument("--existing", type=int, default=30000)
    parser.add_argument("--big", type=int, default=40, help="large packages (default: 40)")
    parser.add_argument("--big-mb", type=int, default=8)
    parser.add_argument("--big-formats", default=".conda",
                        help="comma-separated, e.g. .conda,.tar.bz2 (default: %(default)s)")
    parser.add_argument("--slices", type=int, default=10, help="slices of the small set")
    parser.add_argument("--per-request", type=int, default=4, help="outputs per request")
    parser.add_argument("--concurrency", type=int, default=4, help="requests in flight")
    parser.add_argument("--group-wait", type=float, default=Service.group_wait,
                        help="how long a publish waits for requests still checking")
    parser.add_argument("--keep", type=Path, default=None, help="work here and keep it")
    args = parser.parse_args(argv)
    tmp = args.keep or Path(tempfile.mkdtemp(prefix="bench-outputs-"))
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        return run(args, tmp)
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)


def run(args: argparse.Namespace, tmp: Path) -> int:
    started = time.perf_counter()
    forge = create_forge(tmp / "forge", count=1, corpus_share=0, workers=1)
    token = Secret.new_token()
    commit(forge.root, "feedstock-tokens", {
        f"tokens/{FEEDSTOCK}.json": json.dumps({"tokens": [hash_token(token).to_json()]})},
        tmp)
    commit(forge.root, "feedstock-outputs",
           {registry.ALLOWLIST: "pkg00000:\n- bench-*\n- large-*\n"}, tmp)
    repo = forge.repo(FEEDSTOCK)
    key = forge.repo_public_key(repo)
    forge.put_repo_secret(repo, "FEEDSTOCK_TOKEN", seal(key, token), key.key_id)
    local = layout.local_service(forge, forge_root=forge.root)
    # claims are committed by the flush after each slice (timed on its own), not by the
    # background thread in the middle of another slice's copy
    service = Service(forge=forge, channels=local.channels, state_dir=local.state_dir,
                      claim_delay=3600.0, group_wait=args.group_wait)
    production, staging = service.channels.production, service.channels.staging
    assert isinstance(production, LocalChannel) and isinstance(staging, LocalChannel)

    print(f"filling production with {args.existing} packages ...", flush=True)
    fill_production(production, args.existing)
    [first] = [r for r in reindex(production, full=True) if r.subdir == SUBDIR]
    print(f"  indexed {first.packages} packages in {first.seconds:.1f} s (full re-index)")
    print(f"building and staging {args.packages} x {args.payload_kb} KiB and {args.big} x "
          f"{args.big_mb} MiB packages ...", flush=True)
    small = stage_all(staging, build_all(tmp / "built", "bench", args.packages,
                                         args.payload_kb << 10, [".conda", ".tar.bz2"]))
    big = stage_all(staging, build_all(tmp / "built", "large", args.big, args.big_mb << 20,
                                       args.big_formats.split(",")))
    renders = counted(production.index, "render")
    quiet = [counted(c.index, "render") for c in (staging, service.channels.quarantine)
             if isinstance(c, LocalChannel)]
    cases = [Case(f"{args.packages} x {args.payload_kb} KiB (.conda and .tar.bz2) into "
                  f"{args.existing} packages", small, max(1, args.packages // args.slices)),
             Case(f"{args.big} x {args.big_mb} MiB ({args.big_formats})", big,
                  max(1, args.big // 5))]
    for case in (c for c in cases if c.staged):  # --big 0 leaves a case empty
        groups_before, fetches_before = service.publisher.group.groups, service.names.fetches
        renders.clear()
        outcome = run_case(service, token, case, per_request=args.per_request,
                           concurrency=args.concurrency)
        report(case, outcome)
        print(f"  publish groups {service.publisher.group.groups - groups_before} "
              f"(repodata renders of production {len(renders)}, median "
              f"{statistics.median(renders) * 1000:.0f} ms); registry fetches "
              f"{service.names.fetches - fetches_before}; renders of staging and "
              f"quarantine {sum(len(q) for q in quiet)}")

    listed = json.loads(production.index.view_path(SUBDIR).read_text())
    in_repodata = len(listed["packages"]) + len(listed["packages.conda"])
    assert in_repodata == args.existing + args.packages + args.big, in_repodata
    assert not staging.packages(SUBDIR), "staging was not cleaned"
    assert not service.journal.claims.pending(), "claims left uncommitted"
    owned = registry.registered(forge, "bench-0000")
    assert owned == ["pkg00000"], owned
    service.close()
    print(f"\nchannel: {in_repodata} packages in {SUBDIR}; repodata.json "
          f"{production.index.view_path(SUBDIR).stat().st_size / 1e6:.1f} MB; "
          f"{service.claims.commits} registry commits for {args.packages + args.big} names")
    print(f"total benchmark time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
