"""Benchmark of the validation service on the embedded default.

Fills a production channel with EXISTING packages (small real .tar.bz2 packages made
with tarfile, indexed once by a full re-index), stages PACKAGES packages built with
conda-package-handling, then copies them through the service (token check, staging
checks, quarantine, production, cleanup) with several requests in flight, and prints:

- copy throughput, against the floor of reading and hashing (sha256 + md5) the same
  bytes once;
- the cost of the repodata update, incremental (one new package published into the
  full channel) against a full re-index of that channel, both measured in this run.

    python scripts/bench_outputs.py [--packages 1000] [--existing 30000]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import shutil
import sys
import tarfile
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from migrator.channels.base import hash_file  # noqa: E402
from migrator.channels.directory import LocalChannel  # noqa: E402
from migrator.channels.dists import parse_dist  # noqa: E402
from migrator.channels.local_index import LocalIndex  # noqa: E402
from migrator.channels.local_reindex import reindex  # noqa: E402
from migrator.core.git import git  # noqa: E402
from migrator.core.secret import Secret  # noqa: E402
from migrator.forges.sealing import seal  # noqa: E402
from migrator.registries import outputs_registry as registry  # noqa: E402
from migrator.registries.token_hashing import hash_token  # noqa: E402
from migrator.service import local_setup as layout
from testing.build_package import build_package  # noqa: E402
from testing.seed import create_forge  # noqa: E402

SUBDIR = "linux-64"


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


def timed_renders(index: LocalIndex) -> list[float]:
    """Wrap one index's render so that every repodata update is timed."""
    spent: list[float] = []
    original = index.render

    def render(subdir: str) -> None:
        started = time.perf_counter()
        original(subdir)
        spent.append(time.perf_counter() - started)

    index.render = render  # type: ignore[method-assign]
    return spent


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--packages", type=int, default=1000)
    parser.add_argument("--existing", type=int, default=30000)
    parser.add_argument("--payload-kb", type=int, default=64,
                        help="incompressible payload per copied package (default: 64)")
    parser.add_argument("--per-request", type=int, default=4, help="outputs per request")
    parser.add_argument("--concurrency", type=int, default=4, help="requests in flight")
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
    entry = hash_token(token)
    commit(forge.root, "feedstock-tokens", {
        "tokens/pkg00000-feedstock.json": json.dumps({"tokens": [entry.to_json()]})}, tmp)
    commit(forge.root, "feedstock-outputs", {registry.ALLOWLIST: "pkg00000:\n- bench-*\n"}, tmp)
    repo = forge.repo("pkg00000-feedstock")
    key = forge.repo_public_key(repo)
    forge.put_repo_secret(repo, "FEEDSTOCK_TOKEN", seal(key, token), key.key_id)
    service = layout.local_service(forge, forge_root=forge.root)
    production = service.channels.production
    staging = service.channels.staging
    assert isinstance(production, LocalChannel) and isinstance(staging, LocalChannel)

    print(f"filling production with {args.existing} packages ...", flush=True)
    fill_production(production, args.existing)
    [first] = [r for r in reindex(production, full=True) if r.subdir == SUBDIR]
    print(f"  indexed {first.packages} packages in {first.seconds:.1f} s (full re-index)")

    print(f"building and staging {args.packages} packages "
          f"({args.payload_kb} KiB payload each) ...", flush=True)
    rng = random.Random(6)
    outputs: dict[str, str] = {}
    built: list[Path] = []
    for i in range(args.packages):
        payload = rng.randbytes(args.payload_kb * 1024)
        path = build_package(tmp / "built", name=f"bench-{i:04d}", version="1.0",
                             build="h0_0", subdir=SUBDIR, fmt=(".conda", ".tar.bz2")[i % 2],
                             files={f"share/bench-{i:04d}/data.bin": payload})
        dist = parse_dist(f"{SUBDIR}/{path.name}")
        staging.upload(path, dist)
        outputs[dist.key] = hashlib.sha256(path.read_bytes()).hexdigest()
        built.append(path)
    total_bytes = sum(p.stat().st_size for p in built)

    # the floor: read and hash the same bytes once (page cache warm, as for the copy)
    started_hash = time.perf_counter()
    for path in built:
        hash_file(path)
    floor = time.perf_counter() - started_hash

    renders = timed_renders(production.index)
    keys = sorted(outputs)
    batches = [keys[i:i + args.per_request] for i in range(0, len(keys), args.per_request)]

    def send(batch: list[str]) -> list[str]:
        body = {"feedstock": "pkg00000-feedstock", "channel": "main", "hash_type": "sha256",
                "outputs": {k: outputs[k] for k in batch}, "comment_on_error": False}
        report = service.copy(body, token)
        return [r.kind.value for r in report.results.values()]

    print(f"copying in {len(batches)} requests, {args.concurrency} at a time ...", flush=True)
    started_copy = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
        kinds = [k for result in pool.map(send, batches) for k in result]
    copy_seconds = time.perf_counter() - started_copy
    copied = kinds.count("copied")
    assert copied == args.packages, {k: kinds.count(k) for k in set(kinds)}
    listed = json.loads(production.index.view_path(SUBDIR).read_text())
    in_repodata = len(listed["packages"]) + len(listed["packages.conda"])
    assert in_repodata == args.existing + args.packages
    assert not list((staging.root / SUBDIR).glob("bench-*")), "staging was not cleaned"

    # repodata update: one more package into the full channel, against a full re-index
    extra = build_package(tmp / "built", name="bench-extra", version="1.0", build="h0_0",
                          subdir=SUBDIR)
    started_one = time.perf_counter()
    production.receive(extra, parse_dist(f"{SUBDIR}/{extra.name}"), labels={"main"})
    one_update = time.perf_counter() - started_one
    render_only = renders[-1]
    [full] = [r for r in reindex(production, full=True) if r.subdir == SUBDIR]

    size = in_repodata + 1
    print()
    print(f"channel: {size} packages in {SUBDIR}; repodata.json "
          f"{production.index.view_path(SUBDIR).stat().st_size / 1e6:.1f} MB")
    print(f"validate and copy: {args.packages} packages ({total_bytes / 1e6:.1f} MB) in "
          f"{copy_seconds:.1f} s = {args.packages / copy_seconds:.1f} packages/s, "
          f"{total_bytes / 1e6 / copy_seconds:.1f} MB/s")
    print(f"hashing floor:     the same bytes read and hashed once in {floor:.3f} s = "
          f"{args.packages / floor:.0f} packages/s")
    print(f"  copy / floor = {copy_seconds / floor:.0f}x")
    print(f"repodata renders during the copy: {len(renders)} for {args.packages} packages in "
          f"{len(batches)} requests, median {sorted(renders)[len(renders) // 2] * 1000:.0f} ms")
    print(f"repodata update, incremental: publish one package {one_update * 1000:.0f} ms "
          f"(of which render {render_only * 1000:.0f} ms)")
    print(f"repodata update, full re-index of {full.packages} packages: {full.seconds:.2f} s")
    print(f"  full re-index / incremental publish = {full.seconds / one_update:.0f}x; "
          f"/ incremental render = {full.seconds / render_only:.0f}x")
    print(f"total benchmark time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
