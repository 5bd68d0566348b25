"""The fork server behind sandbox.run_limited, and what each of its children does.

Started as `python -m migrator.feedstock.sandbox_server FD` with an empty environment;
FD is its control socket. It imports the readers once, then for every request (one
byte carrying a socket) forks a child that talks to the caller over that socket: its
pid first, then the request `(limits, func, args)` (pickled: it comes from the caller),
then one reply `[kind, value, peak_rss]` as JSON (the caller never unpickles what a
child says). The server is single-threaded, so forking it is safe, and exits when the
caller closes the control socket. Children are reaped by the kernel (SIGCHLD ignored).
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import resource
import signal
import socket
import sys
from multiprocessing.connection import Connection
from typing import Any

from migrator.feedstock import FeedstockError

PRELOAD = ("migrator.feedstock.recipe_outputs",)
# one small read in the server warms what the readers import or compile on first use,
# so that no child pays for it again
_WARM_UP = b"{% set v = '1' %}package:\n  name: warm\n  version: {{ v }}\n"


class _CpuExceeded(BaseException):
    pass


def main(argv: list[str]) -> int:
    control = socket.socket(fileno=int(argv[1]))
    for name in PRELOAD:
        importlib.import_module(name)
    _warm_up()
    gc.freeze()  # the collector leaves the server's objects alone in every child
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    while True:
        try:
            _, fds, _, _ = socket.recv_fds(control, 1, 1)
        except OSError:
            return 0
        if not fds:
            return 0  # the caller has gone
        if os.fork() == 0:
            control.close()
            try:
                _serve(fds[0])
            finally:
                os._exit(0)
        os.close(fds[0])


def _warm_up() -> None:
    from migrator.feedstock.recipe_outputs import read_outputs

    read_outputs({"recipe/meta.yaml": _WARM_UP})


def _serve(fd: int) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.environ.clear()
    conn = Connection(fd)
    conn.send_bytes(json.dumps(os.getpid()).encode())
    limits, func, args = conn.recv()  # from the caller, who trusts itself
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory, limits.memory))
    # SIGXCPU at the soft limit lets the child say why; the hard limit kills regardless,
    # and so does the alarm if the caller is gone and cannot enforce the wall clock
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 2))
    signal.signal(signal.SIGXCPU, _on_cpu)
    signal.alarm(int(limits.wall_seconds) + 5)
    kind, value = _run(limits, func, args)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    try:
        reply = json.dumps([kind, value, peak])
    except (TypeError, ValueError):  # a reader returned more than plain data
        reply = json.dumps(["error", "reading failed: the result is not plain data", peak])
    conn.send_bytes(reply.encode())


def _run(limits: Any, func: Any, args: tuple[Any, ...]) -> tuple[str, Any]:
    try:
        return "ok", func(*args)
    except MemoryError:
        return "limit", f"needed more than {limits.memory >> 20} MiB of memory"
    except _CpuExceeded:
        return "limit", f"used more than {limits.cpu_seconds} s of CPU time"
    except RecursionError:
        return "limit", "nested too deeply (recursion limit)"
    except FeedstockError as exc:
        return "error", str(exc)
    except Exception as exc:  # a reader's bug must not look like the feedstock's fault
        return "error", f"reading failed: {type(exc).__name__}: {exc}"


def _on_cpu(signum: int, frame: Any) -> None:
    raise _CpuExceeded()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
