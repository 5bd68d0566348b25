"""Serving the HTTP app: werkzeug's threaded WSGI server (one thread per connection)
in front of a bounded pool of copy workers for the job form."""

from __future__ import annotations

import logging
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from migrator.outputs.service import Service
from migrator.outputs.webapp import TOKEN_HEADER, create_app

log = logging.getLogger(__name__)


class _Handler(WSGIRequestHandler):
    """werkzeug drops every header with an underscore in its name (a proxy could not
    tell `A_B` from `A-B`); today's CI sends `FEEDSTOCK_TOKEN`, so that one is kept."""

    def make_environ(self) -> Any:
        environ = super().make_environ()
        value = self.headers.get(TOKEN_HEADER)
        if value is not None:
            environ["HTTP_" + TOKEN_HEADER] = value.replace("\r\n", "")
        return environ


class RunningServer:
    def __init__(self, service: Service, *, host: str, port: int, workers: int) -> None:
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="copy")
        app = create_app(service, executor=self.executor)
        self.httpd: BaseWSGIServer = make_server(host, port, app, threaded=True,
                                                 request_handler=_Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True,
                                       name="outputs-http")

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host if isinstance(host, str) else host.decode()}:{port}"

    def start(self) -> RunningServer:
        if not self.thread.is_alive():
            self.thread.start()
        return self

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.executor.shutdown(wait=True)
        self.thread.join(timeout=10)

    def __enter__(self) -> RunningServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_server(service: Service, *, host: str = "127.0.0.1", port: int = 0,
                 workers: int = 4) -> RunningServer:
    """A server on a background thread (port 0: any free port; see `.url`)."""
    return RunningServer(service, host=host, port=port, workers=workers).start()


def serve_forever(service: Service, *, host: str, port: int, workers: int) -> None:
    """Recover what a crash left, then serve until SIGTERM or SIGINT."""
    finished = service.recover()
    if finished:
        log.info("finished %d request(s) left by an earlier run", len(finished))
    server = RunningServer(service, host=host, port=port, workers=workers)
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
