"""The validation patch on every corpus feedstock with CI files: time per feedstock against
the floor of reading the same files and parsing their YAML once, interleaved in slices.

    .venv/bin/python scripts/bench_patch.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from migrator.rerender.patch import ci_files_of, validation_patch  # noqa: E402
from migrator.rerender.providers import uploading_providers  # noqa: E402
from testing.unpatch import unpatch  # noqa: E402

CORPUS = ROOT / "testing" / "corpus" / "feedstocks"


def load() -> list[dict[str, bytes]]:
    found = []
    for root in sorted(p for p in CORPUS.iterdir() if p.is_dir()):
        paths = [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()]
        ci = ci_files_of(paths)
        if any(p.startswith(".scripts/") for p in ci):
            files = {p: (root / p).read_bytes() for p in ci}
            if (root / "conda-forge.yml").is_file():
                files["conda-forge.yml"] = (root / "conda-forge.yml").read_bytes()
            found.append(unpatch(files))
    return found


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    feedstocks = load()
    floor, patch = [], []
    for _ in range(args.rounds):  # interleaved: drift in machine load hits both alike
        start = time.perf_counter()
        for files in feedstocks:
            uploading_providers(files)  # reads and parses the YAML once: the floor
        floor.append((time.perf_counter() - start) / len(feedstocks))
        start = time.perf_counter()
        for files in feedstocks:
            uploading_providers(files)
            validation_patch(files)
        patch.append((time.perf_counter() - start) / len(feedstocks))
    f, p = statistics.median(floor), statistics.median(patch)
    print(f"{len(feedstocks)} corpus feedstocks with CI scripts, {args.rounds} rounds")
    print(f"floor (detect providers: read + parse) {f * 1000:.2f} ms per feedstock")
    print(f"detect + patch                         {p * 1000:.2f} ms per feedstock "
          f"({p / f:.2f}x the floor)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
