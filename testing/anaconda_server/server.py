"""A stateful stand-in for anaconda.org over real HTTP: the API anaconda-client calls at
the root, conda.anaconda.org's channel paths under /conda, and the storage uploads and
downloads go through under /_storage. One in-process server per test (threads).

Every API request is logged (`log`), can be slowed by a fixed `latency` (for
benchmarks) and can meet an injected fault (`faults`). A request body anaconda-client
would not send is refused and recorded in `checker.violations`.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from typing import Any, NamedTuple

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from testing.anaconda_server import api, checks
from testing.anaconda_server.conda import conda, storage
from testing.anaconda_server.faults import Faults
from testing.anaconda_server.model import ApiFailure, Model

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class Entry(NamedTuple):
    at: float
    method: str
    path: str
    status: int  # 0: the connection was dropped
    login: str  # "-" when anonymous
    kind: str  # api | storage | conda
    fault: str | None


class _Quiet(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as anaconda.org's front ends offer

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class AnacondaServer:
    def __init__(self, *, owners: tuple[str, ...] = (), faults: Faults | None = None,
                 latency: float = 0.0) -> None:
        self.model = Model()
        for owner in owners:
            self.model.add_owner(owner)
        self.faults = faults or Faults()
        self.latency = latency  # seconds added to every API and storage request
        self.delayed = 0.0  # seconds of latency added so far
        self.checker = checks.Checker()
        self.log: list[Entry] = []
        self._log_lock = threading.Lock()
        self._key = os.urandom(16)
        self._server: Any = None
        self.url = ""

    def start(self) -> AnacondaServer:
        self._server = make_server("127.0.0.1", 0, self, threaded=True, request_handler=_Quiet)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True, name="anaconda-server").start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> AnacondaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _delay(self) -> None:
        started = time.perf_counter()
        time.sleep(self.latency)
        with self._log_lock:  # what sleeping really took: a sleep overshoots a little
            self.delayed += time.perf_counter() - started

    def conda_url(self, owner: str, label: str = "main") -> str:
        return f"{self.url}/conda/{owner}" + ("" if label == "main" else f"/label/{label}")

    def entries(self, kind: str | None = "api") -> list[Entry]:
        with self._log_lock:
            return [e for e in self.log if kind is None or e.kind == kind]

    # -- WSGI --------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        arrival = time.time()
        request = Request(environ)
        path = request.path
        kind = "conda" if path.startswith("/conda/") else \
            "storage" if path.startswith("/_storage/") else "api"
        login = "-"
        fault = None
        try:
            if kind == "conda":
                if request.headers.get("Authorization"):  # public: a token has no business here
                    self.checker.note(f"GET {path}: a token was sent to conda.anaconda.org")
                response = conda(self.model, request)
            else:
                if self.latency:
                    self._delay()
                fault = self.faults.draw(request.method, path, copy=path.startswith("/copy/"))
                response, login = self._faulted(request, fault, kind)
        except Exception as exc:  # a bug here must fail the test, not pass as a 5xx fault
            self.checker.note(f"server error on {request.method} {path}: {exc!r}")
            response = Response(b"server error", 500)
        dropped = fault in ("drop", "drop_after")
        with self._log_lock:
            self.log.append(Entry(arrival, request.method, path,
                                  0 if dropped else response.status_code, login, kind, fault))
        if dropped:
            sock = environ.get("werkzeug.socket")
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)
            start_response("599 Dropped", [])  # never reaches the client
            return []
        return response(environ, start_response)

    def _faulted(self, request: Request, fault: str | None, kind: str) -> tuple[Response, str]:
        if fault in ("drop", "5xx", "busy", "conflict"):
            status, message = {"drop": (599, "dropped"), "5xx": (503, "Service Unavailable"),
                               "busy": (429, "Too Many Requests"),
                               "conflict": (409, "File conflict while copying!")}[fault]
            headers = {"Retry-After": "0"} if fault == "busy" else None
            return _json(status, {"error": message}, headers), "-"
        if fault == "stall":
            time.sleep(self.faults.stall)
        if kind == "storage":
            response, problem = storage(self.model, request, self._key)
            if problem:
                self.checker.note(problem)
            return response, "-"
        return self._api(request)

    def _api(self, request: Request) -> tuple[Response, str]:
        authorization = request.headers.get("Authorization")
        raw = request.get_data()
        problem = checks.header_problem(authorization, request.mimetype or None,
                                        has_body=bool(raw))
        if problem:
            self.checker.note(f"{request.method} {request.path}: {problem}")
            return _json(400, {"error": problem}), "-"
        identity = None
        if authorization is not None:
            identity = self.model.identity(authorization.partition(" ")[2])
            if identity is None:
                return _json(401, {"error": "Invalid token"}), "-"
        login = identity.login if identity else "-"
        try:
            endpoint, params = api.ROUTES.bind("api").match(request.path, method=request.method)
        except (NotFound, MethodNotAllowed):
            self.checker.note(f"{request.method} {request.path}: no such API call")
            return _json(404, {"error": "Not Found"}), login
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            self.checker.note(f"{request.method} {request.path}: the body is not JSON")
            return _json(400, {"error": "Invalid JSON"}), login
        shape = api.BODY_OF.get((endpoint, request.method))
        if shape is not None and (problem := checks.body_problem(shape, body)):
            self.checker.note(f"{request.method} {request.path}: {problem}")
            return _json(400, {"error": problem}), login
        ctx = api.Ctx(self.model, identity, request.method, body, self.url, self._key)
        try:
            answer = endpoint(ctx, **params)
        except ApiFailure as exc:
            return _json(exc.status, {"error": exc.message}), login
        if isinstance(answer.body, bytes):
            return Response(answer.body, answer.status, answer.headers), login
        if answer.body is None:
            return Response(b"", answer.status, answer.headers), login
        return _json(answer.status, answer.body, answer.headers), login


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status, headers, content_type="application/json")
