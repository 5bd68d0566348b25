#!/usr/bin/env python3
"""Benchmark the output-validation migration on the local forge.

Prints, measured in the same run:
  * the migration of N feedstocks (default 960) against a bare-git floor on an identical
    forge: a loop that only clones, edits, commits and pushes with the git CLI, at the
    same parallelism. Both run slice by slice, interleaved (floor, migration, migration,
    floor, ...), so drift in the machine's load hits both alike; each slice's ratio is
    printed, then the median, with wall and CPU time (this process and its children)
    and the git processes each started per feedstock. Each slice also times the
    registry's mandatory token hashes alone (as many as the migration made, on as many
    threads as jobs), and the migration is compared with the floor plus those hashes;
  * with 30,000 recorded feedstocks: how long a rerun takes to find the first pending
    feedstock, and how long `migrator status` takes, against the import time;
  * the peak resident memory of a run over `--rss-count` feedstocks (a child process).

    .venv/bin/python scripts/bench_migrate.py [--count 960] [--slices 8] [--big 30000]
"""

from __future__ import annotations

import argparse
import functools
import os
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from migrator.bot import migrations  # noqa: E402
from migrator.bot.runner import run_migration  # noqa: E402
from migrator.bot.state import StateDir  # noqa: E402
from migrator.bot.state_index import IndexRow  # noqa: E402
from migrator.bot.task import Options  # noqa: E402
from migrator.core import git as gitmodule  # noqa: E402
from migrator.core.files import write_json  # noqa: E402
from migrator.core.git import git  # noqa: E402
from migrator.core.secret import Secret  # noqa: E402
from migrator.feedstock import sandbox  # noqa: E402
from migrator.forges import RepoInfo  # noqa: E402
from migrator.forges.local import LocalForge  # noqa: E402
from migrator.registries.token_hashing import hash_token  # noqa: E402
from testing.runs import local_stores  # noqa: E402
from testing.seed import create_forge  # noqa: E402


class Spent(NamedTuple):
    wall: float
    cpu: float
    git: int  # git processes started


_git_started = 0


def _count_git() -> None:
    """Count every git process migrator starts (they all go through `core.git`)."""
    real = gitmodule.subprocess.Popen

    class Counting(real):  # type: ignore[misc,valid-type]
        def __init__(self, args: Any, *rest: Any, **kwargs: Any) -> None:
            global _git_started
            if isinstance(args, list) and args and args[0] == "git":
                _git_started += 1
            super().__init__(args, *rest, **kwargs)

    gitmodule.subprocess.Popen = Counting  # type: ignore[misc]


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
            + _sandbox_cpu())


def _sandbox_cpu() -> float:
    """The recipe readers' CPU: they are children of the sandbox's fork server, which
    lives as long as this process, so RUSAGE_CHILDREN never sees them."""
    server = sandbox._SERVER.process
    if server is None or server.poll() is not None:
        return 0.0
    try:
        fields = Path(f"/proc/{server.pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    # utime, stime, cutime, cstime: fields 14-17 of proc(5), counted after the name
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def spend(work: Callable[[], Any]) -> Spent:
    git_before, cpu, started = _git_started, cpu_seconds(), time.perf_counter()
    work()
    return Spent(time.perf_counter() - started, cpu_seconds() - cpu, _git_started - git_before)


def floor(forge: LocalForge, repos: list[RepoInfo], scratch: Path, jobs: int) -> None:
    def one(name: str) -> None:
        wc = scratch / name
        git("clone", "-q", "--depth", "1", "--single-branch", "--branch", "main",
            forge.git_dir(name).as_uri(), str(wc))
        path = wc / "conda-forge.yml"
        path.write_text("conda_forge_output_validation: true\n" + path.read_text())
        git("commit", "-qam", "[ci skip] enable output validation", cwd=wc)
        git("push", "-q", "origin", "HEAD:main", cwd=wc)
        shutil.rmtree(wc)

    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(one, [r.name for r in repos]))


def migrate(forge: LocalForge, repos: list[RepoInfo], state: Path, options: Options) -> None:
    migration = migrations.get("output-validation")
    summary = run_migration(forge, migration, StateDir(state, migration.name), options,
                            stores=local_stores(forge), repos=repos)
    if summary.outcomes.get("failed") or summary.outcomes.get("done") != len(repos):
        raise SystemExit(f"benchmark run did not finish every feedstock: {summary.outcomes}")


def compare(root: Path, count: int, slices: int, options: Options) -> None:
    mine = create_forge(root / "a", count=count, corpus_share=0)
    bare = create_forge(root / "b", count=count, corpus_share=0)
    ours = [r for r in mine.list_feedstocks() if not r.archived]
    theirs = [r for r in bare.list_feedstocks() if not r.archived]
    size = -(-len(ours) // slices)
    rows = []
    hashed: list[Spent] = []
    for index in range(slices):
        part = slice(index * size, (index + 1) * size)
        run_floor = functools.partial(floor, bare, theirs[part], root / "scratch", options.jobs)
        run_ours = functools.partial(migrate, mine, ours[part], root / "state", options)
        if index % 2:
            measured, measured_floor = spend(run_ours), spend(run_floor)
        else:
            measured_floor, measured = spend(run_floor), spend(run_ours)
        n = len(ours[part])
        rows.append((n, measured_floor, measured))
        names = {r.name for r in ours[part]}
        tokens = sum(len(r.get("providers") or ()) for r in
                     StateDir(root / "state", "output-validation").records()
                     if r.get("feedstock") in names)
        hashed.append(spend(functools.partial(hash_tokens, tokens, options.jobs)))
        with_hash = measured_floor.wall + hashed[-1].wall
        print(f"  slice {index + 1}/{slices}: {n} feedstocks, floor {measured_floor.wall:.2f} s, "
              f"migration {measured.wall:.2f} s, ratio {measured.wall / measured_floor.wall:.2f}x "
              f"(CPU {measured.cpu / measured_floor.cpu:.2f}x); {tokens} hashes alone "
              f"{hashed[-1].wall:.2f} s, ratio to floor + hashes "
              f"{measured.wall / with_hash:.2f}x", flush=True)
    total = sum(n for n, _, _ in rows)
    ratios = [m.wall / f.wall for _, f, m in rows]
    floor_wall = sum(f.wall for _, f, _ in rows)
    ours_wall = sum(m.wall for _, _, m in rows)
    floor_cpu = sum(f.cpu for _, f, _ in rows)
    ours_cpu = sum(m.cpu for _, _, m in rows)
    print(f"feedstocks: {total} (jobs={options.jobs}, renderer={options.renderer}, "
          f"{slices} interleaved slices)")
    print(f"bare-git floor (clone, edit, commit, push): {floor_wall / total * 1000:.1f} ms wall, "
          f"{floor_cpu / total * 1000:.1f} ms CPU, "
          f"{sum(f.git for _, f, _ in rows) / total:.2f} git processes per feedstock")
    print(f"migration (tokens, registries, secrets, config and rerender commits): "
          f"{ours_wall / total * 1000:.1f} ms wall, {ours_cpu / total * 1000:.1f} ms CPU, "
          f"{sum(m.git for _, _, m in rows) / total:.2f} git processes per feedstock")
    print(f"ratio migration / floor: median {statistics.median(ratios):.2f}x over the slices "
          f"(min {min(ratios):.2f}x, max {max(ratios):.2f}x; whole-run wall "
          f"{ours_wall / floor_wall:.2f}x, CPU {ours_cpu / floor_cpu:.2f}x)")
    with_hash = [m.wall / (f.wall + h.wall) for (_, f, m), h in zip(rows, hashed, strict=True)]
    print(f"ratio migration / (floor + the same token hashes alone): median "
          f"{statistics.median(with_hash):.2f}x (min {min(with_hash):.2f}x, max "
          f"{max(with_hash):.2f}x; whole-run wall "
          f"{ours_wall / (floor_wall + sum(h.wall for h in hashed)):.2f}x, CPU "
          f"{ours_cpu / (floor_cpu + sum(h.cpu for h in hashed)):.2f}x)")
    tokens = sum(len(r.get("providers") or ()) for r in
                 StateDir(root / "state", "output-validation").records())
    hashing = scrypt_seconds() * tokens
    print(f"of which scrypt, the registry's mandatory hash: {tokens / total:.2f} tokens and "
          f"{hashing / total * 1000:.1f} ms CPU per feedstock; the migration's CPU without "
          f"it is {(ours_cpu - hashing) / floor_cpu:.2f}x the floor's")


def hash_tokens(count: int, jobs: int) -> None:
    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(lambda _: hash_token(Secret.new_token()), range(count)))


def scrypt_seconds() -> float:
    """One token hash, the median of ten."""
    def one() -> float:
        started = time.process_time()
        hash_token(Secret.new_token())
        return time.process_time() - started

    return statistics.median(one() for _ in range(10))


def peak_rss(root: Path, count: int, options: Options) -> None:
    """The migration of `count` feedstocks in a child process, and its peak RSS."""
    create_forge(root / "forge", count=count, corpus_share=0)
    code = (
        "import resource, sys\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "from pathlib import Path\n"
        "from migrator.bot import migrations\n"
        "from migrator.bot.runner import run_migration\n"
        "from migrator.bot.state import StateDir\n"
        "from migrator.bot.task import Options\n"
        "from migrator.forges.local import LocalForge\n"
        "from migrator.core import process_setup\n"
        "from testing.runs import local_stores\n"
        "process_setup.settle()  # as the entry point does\n"
        "forge = LocalForge(Path(sys.argv[2]))\n"
        "m = migrations.get('output-validation')\n"
        "s = run_migration(forge, m, StateDir(Path(sys.argv[3]), m.name),"
        " Options(jobs=int(sys.argv[4])), stores=local_stores(forge))\n"
        "print(dict(s.outcomes), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, str(Path(__file__).resolve().parents[1]),
                          str(root / "forge"), str(root / "state"), str(options.jobs)],
                         check=True, capture_output=True, text=True).stdout.split()
    outcomes, kib = " ".join(out[:-1]), int(out[-1])
    print(f"a run over {count} feedstocks: {outcomes} in {time.perf_counter() - started:.0f} s; "
          f"peak RSS of the migrating process {kib / 1024:.0f} MiB")


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
    args = [str(root / "forge"), str(root / "state"), repos[-1].name]
    status = [sys.executable, "-m", "migrator", "status", "output-validation",
              "--forge", args[0], "--state", args[1]]
    spent: dict[str, list[float]] = {"import": [], "pending": [], "status": []}
    for _ in range(5):  # interleaved, whole processes each
        for name, command in (("import", [sys.executable, "-c", "import migrator.cli"]),
                              ("pending", [sys.executable, "-c", FIRST_PENDING, *args]),
                              ("status", status)):
            t0 = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            spent[name].append(time.perf_counter() - t0)
    imported, find, took = (statistics.median(spent[k]) for k in ("import", "pending",
                                                                   "status"))
    print(f"{count} recorded feedstocks (whole processes, medians of 5 interleaved): "
          f"finding the one pending feedstock {find:.2f} s, `migrator status` "
          f"{took:.2f} s, against {imported:.2f} s to start Python and import migrator "
          f"(pending - import: {find - imported:+.2f} s; status - import: "
          f"{took - imported:+.2f} s)")


# what `migrator run` does before its first feedstock: open the forge, list it, read the
# summary index; the entry point's collector setting included
FIRST_PENDING = """
import sys
from pathlib import Path
import migrator.cli
from migrator.core import process_setup
process_setup.settle()  # as the entry point does
from migrator.bot.runner import select_pending
from migrator.bot.state import StateDir
from migrator.bot.task import Options
from migrator.forges.local import LocalForge
forge = LocalForge(Path(sys.argv[1]))
todo, untouched = select_pending(StateDir(Path(sys.argv[2]), "output-validation"),
                                 forge.list_feedstocks(), Options())
assert [r.name for r in todo] == [sys.argv[3]], todo[:3]
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=960)
    parser.add_argument("--slices", type=int, default=8)
    parser.add_argument("--jobs", type=int, default=Options().jobs)
    parser.add_argument("--big", type=int, default=30000)
    parser.add_argument("--rss-count", type=int, default=5000)
    parser.add_argument("--renderer", default="patch")
    args = parser.parse_args()
    # the admin's shared staging token; the benchmark makes one up
    os.environ.setdefault("STAGING_BINSTAR_TOKEN", secrets.token_hex(32))
    options = Options(jobs=args.jobs, renderer=args.renderer)
    _count_git()
    with tempfile.TemporaryDirectory(prefix="bench-migrate-") as tmp:
        root = Path(tmp)
        if args.count:
            compare(root / "compare", args.count, args.slices, options)
        if args.big:
            big_state(root / "big", args.big)
        if args.rss_count:
            peak_rss(root / "rss", args.rss_count, options)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
