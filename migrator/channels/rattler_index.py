"""Child process for a full re-index: `python -m migrator.channels.rattler_index DIR SUBDIR`.

rattler-index reads every package of DIR/SUBDIR and writes DIR/SUBDIR/repodata.json.
It runs in its own process because py-rattler's async runtime can crash the
interpreter as it shuts down; this process leaves with `os._exit` once the file is
written, and the service process never starts that runtime.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    from rattler import Subdir
    from rattler.index import index_fs

    folder, subdir = Path(argv[0]), argv[1]
    asyncio.run(index_fs(folder, target_platform=Subdir(subdir), write_zst=False,
                         write_shards=False, force=True))
    return 0


if __name__ == "__main__":
    try:
        code = main(sys.argv[1:])
    except Exception as exc:
        print(f"rattler-index failed: {exc}", file=sys.stderr)
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
