"""Solve an environment from a channel with py-rattler, in a child process.

py-rattler's async runtime can crash an interpreter at exit; a short-lived child that
leaves with os._exit keeps that away from the service, the CLI and the test runner.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

_CODE = (
    "import asyncio, json, os, sys, rattler\n"
    "recs = asyncio.run(rattler.solve([sys.argv[1]], sys.argv[2:], "
    "platforms=['linux-64', 'noarch']))\n"
    "print(json.dumps([json.loads(r.to_json()) for r in recs]), flush=True)\n"
    "os._exit(0)\n"
)


class SolveError(Exception):
    pass


def solve(channel_url: str, specs: list[str], *, timeout: float = 120) -> list[dict[str, Any]]:
    proc = subprocess.run([sys.executable, "-c", _CODE, channel_url, *specs],
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        last = proc.stderr.strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
        raise SolveError(f"could not solve {' '.join(specs)}: {last[0]}")
    result: list[dict[str, Any]] = json.loads(proc.stdout)
    return result
