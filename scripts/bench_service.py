"""Benchmark of the validation service under unauthenticated load, on the embedded default.

Starts the service (waitress) in a child process on a fresh local forge whose registry
knows one feedstock (two token entries, one per CI provider), and prints:

- the child's peak RSS while 100 unauthenticated copy requests (each listing 100
  outputs, the most a request may) are in flight at once, against its idle RSS (after
  one request of each kind, so that scrypt's two 16 MiB work areas exist);
- how many files those requests created or changed (state, forge and the child's
  temporary folder);
- the time a wrong token takes for a feedstock with registry entries and for one
  without (median of 50 each, interleaved);
- how long 40 idle connections stay open, against the configured idle timeout.

    python scripts/bench_service.py [--requests 100] [--idle-timeout 2]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from migrator.core.secret import Secret  # noqa: E402
from testing.service_support import add_token, light_env, set_outputs  # noqa: E402

SERVE = """
import sys
from pathlib import Path
from migrator.service import local_setup as layout
from migrator.service.server import serve_forever
from migrator.service.wsgi import Limits
from migrator.forges.local import LocalForge
forge = LocalForge(Path(sys.argv[1]))
service = layout.local_service(forge, forge_root=forge.root)
limits = Limits(threads=8, connections=400, idle_timeout=float(sys.argv[3]))
serve_forever(service, host="127.0.0.1", port=int(sys.argv[2]), workers=4, limits=limits)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def memory(pid: int, field: str) -> int:
    """VmRSS or VmHWM of a process, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def files_of(*roots: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime for root in roots for p in root.rglob("*")
            if p.is_file()}


def copy_request(url: str, feedstock: str, outputs: int) -> float:
    body = {"feedstock": f"{feedstock}-feedstock", "channel": "main", "hash_type": "sha256",
            "provider": "github_actions",
            "outputs": {f"linux-64/{feedstock}-lib{i}-1.2.3-h1234567_0.conda": f"{i:064x}"
                        for i in range(outputs)}}
    req = urllib.request.Request(f"{url}/feedstock-outputs/copy", method="POST",
                                 data=json.dumps(body).encode(),
                                 headers={"FEEDSTOCK_TOKEN": Secret.new_token().reveal()})
    started = time.perf_counter()
    try:
        urllib.request.urlopen(req, timeout=120).read()
        raise SystemExit("a wrong token was accepted")
    except urllib.error.HTTPError as exc:
        exc.read()
        if exc.code != 403:
            raise SystemExit(f"expected 403, got {exc.code}") from None
    return time.perf_counter() - started


def idle_closures(port: int, count: int) -> list[float]:
    sockets = [socket.create_connection(("127.0.0.1", port)) for _ in range(count)]
    started = time.monotonic()

    def wait(sock: socket.socket) -> float:
        sock.settimeout(60)
        while sock.recv(1024):
            pass
        return time.monotonic() - started

    with ThreadPoolExecutor(max_workers=count) as pool:
        closed = list(pool.map(wait, sockets))
    for sock in sockets:
        sock.close()
    return closed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--timing-samples", type=int, default=50)
    parser.add_argument("--idle", type=int, default=40)
    parser.add_argument("--idle-timeout", type=float, default=2.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-service-") as tmp:
        env = light_env(Path(tmp))
        add_token(env, "gadget", provider="azure", keep=[add_token(env, "gadget")[1]])
        set_outputs(env, {"gadget": ["gadget"]})
        child_tmp = Path(tmp) / "child-tmp"
        child_tmp.mkdir()
        port = free_port()
        child = subprocess.Popen(
            [sys.executable, "-c", SERVE, str(env.forge.root), str(port),
             str(args.idle_timeout)],
            env={**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(child_tmp)},
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            assert child.stdout is not None
            child.stdout.readline()  # "serving the validation service on ..."
            url = f"http://127.0.0.1:{port}"
            fresh = memory(child.pid, "VmRSS")
            for feedstock in ("gadget", "nobody-has-this"):  # warm up both paths
                copy_request(url, feedstock, 1)
            time.sleep(0.5)
            idle = memory(child.pid, "VmRSS")
            Path(f"/proc/{child.pid}/clear_refs").write_text("5")  # reset the peak
            before = files_of(env.forge.root, child_tmp)

            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=args.requests) as pool:
                list(pool.map(lambda i: copy_request(url, ("gadget", "nobody-has-this")[i % 2],
                                                     100), range(args.requests)))
            burst = time.perf_counter() - started
            peak = memory(child.pid, "VmHWM")
            after = files_of(env.forge.root, child_tmp)
            written = sorted(p for p, t in after.items() if before.get(p) != t)

            known, unknown = [], []
            for _ in range(args.timing_samples):
                known.append(copy_request(url, "gadget", 1))
                unknown.append(copy_request(url, "nobody-has-this", 1))
            closed = idle_closures(port, args.idle)
        finally:
            child.terminate()
            child.wait(timeout=60)

    mib = 1024 * 1024
    k, u = statistics.median(known), statistics.median(unknown)
    print(f"memory: {fresh / mib:.1f} MiB at start, {idle / mib:.1f} MiB idle after one "
          f"request of each kind (scrypt's pool warmed up), peak {peak / mib:.1f} MiB under "
          f"{args.requests} concurrent unauthenticated requests of 100 outputs each "
          f"(+{(peak - idle) / mib:.1f} MiB; target < 50 MiB); the burst took {burst:.2f} s")
    print(f"files written by those requests: {len(written)} (target 0)"
          + (f": {', '.join(written[:5])}" if written else ""))
    print(f"wrong token, median of {args.timing_samples}: feedstock with 2 registry entries "
          f"{k * 1000:.1f} ms, without entries {u * 1000:.1f} ms "
          f"(difference {abs(k - u) / max(k, u) * 100:.1f}%; target < 20%)")
    print(f"idle connections: {sum(c < 30 for c in closed)} of {args.idle} closed, after "
          f"{min(closed):.2f}-{max(closed):.2f} s (idle timeout {args.idle_timeout:g} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
