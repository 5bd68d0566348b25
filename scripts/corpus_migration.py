"""The migration on a local forge seeded from the whole real corpus, as a new admin would
run it, with the counts the rerender rules promise:

  * feedstocks whose CI already validates get no rerender commit;
  * every rerender commit changes only validation lines (the guard, checked again on the
    pushed commits), and no feedstock loses a CI file;
  * every refusal names the file.

    .venv/bin/python scripts/corpus_migration.py [--renderer patch] [--jobs 2]
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from migrator.bot.state import StateDir  # noqa: E402
from migrator.rerender.guard import check_rerender  # noqa: E402
from migrator.rerender.patch import ci_files_of  # noqa: E402
from testing.runs import migrate  # noqa: E402
from testing.seed import create_forge  # noqa: E402
from testing.seed_content import corpus_feedstocks  # noqa: E402

RERENDER = "MNT: validate outputs before they reach conda-forge"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True,
                          check=True).stdout


def blob(repo: Path, spec: str) -> bytes | None:
    done = subprocess.run(["git", "cat-file", "blob", spec], cwd=repo, capture_output=True)
    return done.stdout if done.returncode == 0 else None


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--renderer", default="patch")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("STAGING_BINSTAR_TOKEN", secrets.token_hex(32))
    count = len(corpus_feedstocks(include_broken=False))
    with tempfile.TemporaryDirectory(prefix="corpus-migration-") as tmp:
        forge = create_forge(Path(tmp) / "forge", count=count, corpus_share=1.0)
        repos = [r for r in forge.list_feedstocks() if not r.name.startswith("pkg")]
        before = {r.name: set(ci_files_of(git(forge.git_dir(r.name), "ls-tree", "-r",
                                               "--name-only", "main").split()))
                  for r in repos}
        validating = {r.name for r in repos
                      if b"validate_recipe_outputs" in (forge.read_file(r.name,
                                                         ".scripts/build_steps.sh") or b"")}
        started = time.perf_counter()
        migrate(forge, Path(tmp) / "state", repos=repos, renderer=args.renderer,
                jobs=args.jobs)
        seconds = time.perf_counter() - started
        records = {r["feedstock"]: r for r in
                   StateDir(Path(tmp) / "state", "output-validation").records()}
        codes: Counter[str] = Counter()
        rerendered, guard_failures, lost, unnamed = [], [], [], []
        for repo in repos:
            record = records[repo.name]
            codes[record.get("reason_code") or record["status"]] += 1
            path = forge.git_dir(repo.name)
            subjects = git(path, "log", "--format=%s", "main").splitlines()
            if any(RERENDER in s for s in subjects):
                rerendered.append(repo.name)
                changed = git(path, "show", "--format=", "--name-only", "main").split()
                verdict = check_rerender({p: blob(path, f"main~1:{p}") for p in changed},
                                         {p: blob(path, f"main:{p}") for p in changed})
                if not verdict.ok:
                    guard_failures.append(repo.name)
            after = set(ci_files_of(git(path, "ls-tree", "-r", "--name-only",
                                        "main").split()))
            if before[repo.name] - after:
                lost.append(repo.name)
            if record.get("reason_code") == "render-refused" and not any(
                    word in record["reason"] for word in (".yml", ".sh", ".bat", "no CI files")):
                unnamed.append(repo.name)
        print(f"{len(repos)} corpus feedstocks, renderer {args.renderer}, {seconds:.0f} s")
        print("outcomes: " + ", ".join(f"{v} {k}" for k, v in sorted(codes.items())))
        print(f"feedstocks whose CI already validated: {len(validating)}; of them with a "
              f"rerender commit: {len(validating & set(rerendered))}")
        print(f"rerender commits: {len(rerendered)}; refused by the guard on re-check: "
              f"{len(guard_failures)} {guard_failures}")
        print(f"feedstocks that lost a CI file: {len(lost)} {lost}")
        print(f"render refusals not naming a file: {len(unnamed)}")
        for name in unnamed + [n for n, r in records.items() if r.get("reason_code") == "error"]:
            print(f"  {name}: {records[name]['reason']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
