#!/usr/bin/env python3
"""Benchmark the output-validation migration on the local forge.

Prints, measured in the same run:
  * the migration of N feedstocks (default 1,000): total and per-feedstock wall time,
    with and without the token steps' scrypt cost broken out;
  * a bare-git floor on an identical forge: a loop that only clones, edits, commits and
    pushes with the git CLI, at the same parallelism; the ratio of the two;
  * with 30,000 recorded feedstocks: how long a rerun takes to find the first pending
    feedstock, and how long `migrator status` takes.

    .venv/bin/python scripts/bench_migrate.py [--count 1000] [--jobs 4] [--big 30000]
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from migrator.bot import migrations  # noqa: E402
from migrator.bot.runner import run_migration, select_pending  # noqa: E402
from migrator.bot.state import StateDir  # noqa: E402
from migrator.bot.state_index import IndexRow  # noqa: E402
from migrator.bot.task import Options  # noqa: E402
from migrator.core.files import write_json  # noqa: E402
from migrator.core.git import git  # noqa: E402
from migrator.core.secret import Secret  # noqa: E402
from migrator.forges.local import LocalForge  # noqa: E402
from migrator.registries.token_hashing import hash_token  # noqa: E402
from testing.runs import local_stores  # noqa: E402
from testing.seed import create_forge  # noqa: E402


def floor(forge: LocalForge, scratch: Path, jobs: int) -> float:
    def one(name: str) -> None:
        wc = scratch / name
        git("clone", "-q", "--depth", "1", "--single-branch", "--branch", "main",
            forge.git_dir(name).as_uri(), str(wc))
        path = wc / "conda-forge.yml"
        path.write_text("conda_forge_output_validation: true\n" + path.read_text())
        git("commit", "-qam", "[ci skip] enable output validation", cwd=wc)
        git("push", "-q", "origin", "HEAD:main", cwd=wc)
        shutil.rmtree(wc)

    names = [r.name for r in forge.list_feedstocks() if not r.archived]
    started = time.perf_counter()
    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(one, names))
    return time.perf_counter() - started


def migrate(forge: LocalForge, state: Path, jobs: int, renderer: str) -> tuple[float, int]:
    migration = migrations.get("output-validation")
    summary = run_migration(forge, migration, StateDir(state, migration.name),
                            Options(jobs=jobs, renderer=renderer), stores=local_stores(forge))
    if summary.outcomes.get("failed"):
        raise SystemExit(f"benchmark run had failures: {summary.outcomes}")
    return summary.seconds, summary.outcomes["done"]


def big_state(root: Path, count: int) -> None:
    started = time.perf_counter()
    forge = create_forge(root / "forge", count=count)
    print(f"forge init --count {count}: {time.perf_counter() - started:.1f} s")
    state = StateDir(root / "state", "output-validation")
    repos = forge.list_feedstocks()
    lines = []
    for repo in repos[:-1]:  # every feedstock recorded done but the last one
        record = state.load(repo)
        record.data.update(status="done", branches=["main"], providers=["github_actions"],
                           steps={s.name if s.scope == "feedstock" else f"{s.name}@main":
                                  {"status": "done", "at": "2026-01-01T00:00:00+00:00",
                                   "attempts": 1}
                                  for s in migrations.get("output-validation").steps})
        write_json(record.path, record.data, sort_keys=False)
        lines.append(IndexRow(repo.id, repo.name, "done", "", "tell-open-pulls",
                              "2026-01-01T00:00:00+00:00").to_line())
    index = root / "state" / "output-validation" / "index"
    index.mkdir(parents=True, exist_ok=True)
    (index / "all.jsonl").write_text("".join(lines))
    t0 = time.perf_counter()
    todo, untouched = select_pending(state, LocalForge(root / "forge").list_feedstocks(),
                                     Options())
    find = time.perf_counter() - t0
    assert [r.name for r in todo] == [repos[-1].name], todo[:3]
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "migrator", "status", "output-validation",
                    "--forge", str(root / "forge"), "--state", str(root / "state")],
                   check=True, capture_output=True)
    status = time.perf_counter() - t0
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import migrator.cli"], check=True)
    imported = time.perf_counter() - t0
    print(f"{count} recorded feedstocks: a rerun finds the first pending one in "
          f"{find * 1000:.0f} ms (listing + the summary index; {sum(untouched.values())} "
          f"untouched); `migrator status` takes {status:.2f} s (whole process) against "
          f"{imported:.2f} s to start Python and import migrator (status - import: "
          f"{status - imported:+.2f} s)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--big", type=int, default=30000)
    parser.add_argument("--renderer", default="patch")
    args = parser.parse_args()
    # the admin's shared staging token; the benchmark makes one up
    os.environ.setdefault("STAGING_BINSTAR_TOKEN", secrets.token_hex(32))
    with tempfile.TemporaryDirectory(prefix="bench-migrate-") as tmp:
        root = Path(tmp)
        mine = create_forge(root / "a", count=args.count, corpus_share=0)
        bare = create_forge(root / "b", count=args.count, corpus_share=0)
        n = sum(not r.archived for r in mine.list_feedstocks())
        t0 = time.perf_counter()
        for _ in range(20):
            hash_token(Secret.new_token())
        scrypt = (time.perf_counter() - t0) / 20
        floor_s = floor(bare, root / "scratch", args.jobs)
        full_s, done = migrate(mine, root / "state", args.jobs, args.renderer)
        print(f"feedstocks: {n} (jobs={args.jobs}, renderer={args.renderer})")
        print(f"bare-git floor (clone, edit, commit, push): {floor_s:.1f} s total, "
              f"{floor_s / n * 1000:.1f} ms per feedstock")
        print(f"migration (token, registry, secret, verify, config, rerender): {full_s:.1f} s "
              f"total, {full_s / done * 1000:.1f} ms per feedstock")
        print(f"ratio migration / floor: {full_s / floor_s:.2f}x "
              f"(one scrypt hash costs {scrypt * 1000:.0f} ms of CPU)")
        if args.big:
            big_state(root / "big", args.big)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
