"""Running a function over a stranger's files in a child process with hard limits.

A recipe's jinja can loop for ever or build a string of gigabytes; a YAML file can hide
an expansion bomb. The reader therefore runs in a child under RLIMIT_AS (memory),
RLIMIT_CPU and a wall-clock deadline, and the caller gets the result, the error the
function raised, or LimitExceeded naming the limit; the caller itself is unharmed.

Children come from a small fork server (sandbox_server.py) that this process starts
once, with the readers imported: a child is a fork of it (a few milliseconds), not of
the caller, so it holds none of the caller's memory (tokens included), its environment
is empty, and forking from a threaded bot is safe. What a child sends back is JSON,
never a pickle. multiprocessing's own "forkserver" was the first choice, but each of
its children re-imports the caller's `__main__` (a console script: the whole
application, every call), and a process forked from its user inherits a server it
cannot talk to (CPython gh-86354).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, NamedTuple

from migrator.core import deadline
from migrator.feedstock import FeedstockError

_START_SECONDS = 30.0  # the server's first start imports the readers
_MAX_REPLY = 16 << 20


class Limits(NamedTuple):
    memory: int = 512 << 20  # bytes of address space
    cpu_seconds: int = 20
    wall_seconds: float = 30.0


DEFAULT_LIMITS = Limits()


class Usage(NamedTuple):
    peak_rss: int  # bytes, the child's high-water mark (0 when unknown)
    wall_seconds: float


class LimitExceeded(FeedstockError):
    """The child crossed a limit (or died); `reason` says which, `usage` what it used."""

    def __init__(self, reason: str, usage: Usage) -> None:
        super().__init__(reason, usage)
        self.reason, self.usage = reason, usage

    def __str__(self) -> str:
        return self.reason


def run_limited(func: Callable[..., Any], *args: Any, limits: Limits = DEFAULT_LIMITS) -> Any:
    """`func(*args)` in a limited child: `func` is a module-level function, `args` are
    pickled to the child, and what it returns must be plain JSON data. The reply is
    parsed as JSON, never unpickled: a child that escaped the jinja sandbox still could
    not run code here. An error the function raises comes back as FeedstockError with
    its message."""
    started = time.monotonic()
    limits = _within_deadline(limits)
    with _SERVER.child() as conn:
        if not conn.poll(_START_SECONDS):
            raise FeedstockError("the reading process did not start")
        pid = _reply(conn)
        if not isinstance(pid, int):
            raise FeedstockError("the reading process sent a malformed reply")
        conn.send((limits, func, args))
        if not conn.poll(limits.wall_seconds):
            peak = _peak_rss(pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            raise LimitExceeded(f"took longer than {limits.wall_seconds:g} s",
                                Usage(peak, time.monotonic() - started))
        try:
            reply = _reply(conn)
        except EOFError:  # killed without a word: the hard CPU limit, or a crash
            raise LimitExceeded(f"was killed: more than {limits.cpu_seconds} s of CPU time "
                                f"or {limits.memory >> 20} MiB of memory",
                                Usage(0, time.monotonic() - started)) from None
    if not (isinstance(reply, list) and len(reply) == 3 and isinstance(reply[2], int)
            and reply[0] in ("ok", "error", "limit")):
        raise FeedstockError("the reading process sent a malformed reply")
    kind, value, peak = reply
    if kind == "ok":
        return value
    if kind == "error":
        raise FeedstockError(str(value))
    raise LimitExceeded(str(value), Usage(peak, time.monotonic() - started))


def _within_deadline(limits: Limits) -> Limits:
    """No longer than the work in progress has left (the bot's per-feedstock limit)."""
    wall = deadline.cap(limits.wall_seconds)
    if wall >= limits.wall_seconds:
        return limits
    # the CPU limit a little later than the wall, so the wall's reason is the one given
    return limits._replace(wall_seconds=wall,
                           cpu_seconds=min(limits.cpu_seconds, math.ceil(wall) + 1))


def _reply(conn: Connection) -> Any:
    try:
        return json.loads(conn.recv_bytes(_MAX_REPLY))
    except (ValueError, OSError) as exc:  # OSError: longer than _MAX_REPLY
        raise FeedstockError(f"the reading process sent a malformed reply: {exc}") from None


def _peak_rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


class _Server:
    """This process's fork server: started on first use, again after a fork or a crash."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.owner = 0  # the pid that started `process`
        self.process: subprocess.Popen[bytes] | None = None
        self.control: socket.socket | None = None
        # a server inherited through fork is the parent's to stop; kept referenced so
        # that no finaliser here tries to reap a process that is not our child
        self.inherited: list[subprocess.Popen[bytes]] = []

    @contextlib.contextmanager
    def child(self) -> Any:
        ours, theirs = socket.socketpair()
        try:
            with self.lock:
                self._send(theirs)
        finally:
            theirs.close()
        conn = Connection(ours.detach())
        try:
            yield conn
        finally:
            conn.close()

    def _send(self, sock: socket.socket) -> None:
        for attempt in (1, 2):
            if self.owner != os.getpid() or self.process is None or self.process.poll() is not None:
                self._start()
            assert self.control is not None
            try:
                socket.send_fds(self.control, [b"r"], [sock.fileno()])
                return
            except OSError:
                if attempt == 2:
                    raise FeedstockError("the reading process could not be started") from None
                self.process = None

    def _start(self) -> None:
        if self.owner == os.getpid():
            self.stop()
        elif self.process is not None:
            self.inherited.append(self.process)
        ours, theirs = socket.socketpair()
        paths = os.pathsep.join(p for p in sys.path if p)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "migrator.feedstock.sandbox_server", str(theirs.fileno())],
            pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            env={"PYTHONPATH": paths, "PATH": os.defpath, "LC_ALL": "C.UTF-8"},
        )
        theirs.close()
        self.control, self.owner = ours, os.getpid()

    def stop(self) -> None:
        if self.owner != os.getpid():
            return  # a server inherited through fork belongs to the parent
        if self.control is not None:
            self.control.close()  # the server reads end-of-file and exits
        if self.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5)
        self.control = self.process = None


_SERVER = _Server()
atexit.register(_SERVER.stop)
# a fork taken while another thread held the lock would inherit it held for ever
os.register_at_fork(after_in_child=lambda: setattr(_SERVER, "lock", threading.Lock()))
