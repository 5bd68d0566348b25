"""Serving the HTTP app: waitress (`wsgi.LimitedServer`) on a background thread, in
front of a bounded pool of copy workers for the job form.

waitress rather than gunicorn: it is pure Python, runs in-process (tests and the demo
start a real server on a thread), works the same on every platform, and reads requests
on an event loop, so slow or idle clients do not each hold a worker; gunicorn forks
worker processes and needs an async worker class for the same.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from waitress import wasyncore

from migrator.service.core import Service
from migrator.service.webapp import create_app
from migrator.service.wsgi import LimitedServer, Limits

log = logging.getLogger(__name__)
DEFAULT_LIMITS = Limits()


class RunningServer:
    def __init__(self, service: Service, *, host: str, port: int, workers: int,
                 limits: Limits = DEFAULT_LIMITS) -> None:
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="copy")
        app = create_app(service, executor=self.executor)
        self.server = LimitedServer(app, host=host, port=port, limits=limits)
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True, name="outputs-http")

    @property
    def url(self) -> str:
        return f"http://{self.server.effective_host}:{self.server.effective_port}"

    def _loop(self) -> None:
        tick = self.server.limits.tick
        while not self._stop.is_set():
            wasyncore.loop(timeout=tick, map=self.server._map, use_poll=True, count=1)

    def start(self) -> RunningServer:
        if not self.thread.is_alive():
            self.thread.start()
        return self

    def close(self, *, grace: float = 30.0) -> None:
        """Stop accepting, let running requests finish and their answers go out, then
        close every connection and wait for the copy jobs."""
        self.server.accepting = False  # the loop keeps running, to send the answers
        self.server.task_dispatcher.shutdown(timeout=grace)
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and any(
                getattr(c, "total_outbufs_len", 0) for c in list(self.server._map.values())):
            time.sleep(0.01)
        self._stop.set()
        self.server.pull_trigger()
        if self.thread.is_alive():
            self.thread.join(timeout=10)
        for channel in list(self.server._map.values()):
            channel.close()
        self.executor.shutdown(wait=True)

    def __enter__(self) -> RunningServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_server(service: Service, *, host: str = "127.0.0.1", port: int = 0,
                 workers: int = 4, limits: Limits = DEFAULT_LIMITS) -> RunningServer:
    """A server on a background thread (port 0: any free port; see `.url`)."""
    return RunningServer(service, host=host, port=port, workers=workers,
                         limits=limits).start()


def serve_forever(service: Service, *, host: str, port: int, workers: int,
                  limits: Limits = DEFAULT_LIMITS) -> None:
    """Recover what a crash left, then serve until SIGTERM or SIGINT."""
    finished = service.recover()
    if finished:
        log.info("finished %d request(s) left by an earlier run", len(finished))
    server = RunningServer(service, host=host, port=port, workers=workers, limits=limits)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    server.start()
    log.info("serving on %s", server.url)
    print(f"serving the validation service on {server.url}", flush=True)
    while not stop.wait(1.0):
        pass
    log.info("shutting down: finishing running copies")
    server.close()
    service.close()
