"""A stateful stand-in for the parts of Azure DevOps the Azure Pipelines store uses, over
real HTTP: build definitions and variable groups of one project.

Every authenticated request is checked against Microsoft's description before it is
served and every answer built from the model before it is sent; anything outside it is
recorded in `checker.violations` (the fixture fails the test on it). Injected faults and
error answers are counted in `exempt` instead: the description lists only successes.
The request log keeps each request's path, query, headers (not `Authorization`) and body,
so a test can tell exactly where a secret travelled.
"""

from __future__ import annotations

import base64
import json
import re
import socket
import threading
import time
from collections import Counter
from typing import Any, NamedTuple

from werkzeug.datastructures import Headers
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from testing.azure_server import api
from testing.azure_server.faults import BLOCKED, Faults
from testing.azure_server.model import Model
from testing.azure_server.spec import (
    CheckedRequest,
    CheckedResponse,
    Checker,
    documented_statuses,
)

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_ROUTES = (
    ("GET", re.compile(r"^/build/definitions$"), "list"),
    ("GET", re.compile(r"^/build/definitions/(\d+)$"), "get"),
    ("PUT", re.compile(r"^/build/definitions/(\d+)$"), "put"),
    ("GET", re.compile(r"^/build/definitions/(\d+)/revisions$"), "revisions"),
    ("GET", re.compile(r"^/distributedtask/variablegroups$"), "groups"),
)


class Entry(NamedTuple):
    at: float  # when the request arrived
    method: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]  # all but Authorization
    body: str
    user: str | None  # the user name of HTTP basic, None without credentials
    status: int  # 0: the connection was dropped
    fault: str | None
    write: bool


class _Quiet(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class AzureServer:
    def __init__(self, *, organization: str = "conda-forge", project: str = "feedstock-builds",
                 pat: str = "azure-test-pat-0123456789", faults: Faults | None = None) -> None:
        self.model = Model(organization, project)
        self.pat = pat
        self.faults = faults or Faults()
        self.checker = Checker()
        self.exempt: Counter[str] = Counter()
        self.log: list[Entry] = []
        self._log_lock = threading.Lock()
        self._server: Any = None
        self.url = ""

    def start(self) -> AzureServer:
        self._server = make_server("127.0.0.1", 0, self, threaded=True, request_handler=_Quiet)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def entries(self) -> list[Entry]:
        with self._log_lock:
            return list(self.log)

    # -- what tests read that the API never says ------------------------------------------
    def secret_value(self, definition: str, name: str) -> str | None:
        with self.model.lock:
            found = self.model.definition_named(definition).variables.get(name)
            return None if found is None else found.value

    def ci_secrets(self, definition: str) -> dict[str, str]:
        return self.model.ci_secrets(definition)

    # -- WSGI -------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        arrival = time.time()
        body = request.get_data()
        try:
            status, response = self._serve(request, body)
        except Exception as exc:  # a bug here must fail the test, not pass as a 5xx fault
            self.checker.note(f"server error on {request.method} {request.path}: {exc!r}")
            status, response = 500, Response(b"server error", 500)
        self._record(request, arrival, body, status)
        if response is None:  # a dropped connection: the client gets no answer
            sock = environ.get("werkzeug.socket")
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)
            start_response("599 Dropped", [])
            return []
        return response(environ, start_response)

    def _record(self, request: Request, arrival: float, body: bytes, status: int) -> None:
        headers = tuple((k, v) for k, v in request.headers.items() if k != "Authorization")
        entry = Entry(arrival, request.method, request.path, request.query_string.decode(),
                      headers, body.decode(errors="replace"), _user(request), status,
                      request.environ.get("azure_server.fault"), request.method in WRITES)
        with self._log_lock:
            self.log.append(entry)

    def _serve(self, request: Request, body: bytes) -> tuple[int, Response | None]:
        prefix = f"/{self.model.organization}/"
        path = request.path
        if not path.startswith(prefix):
            return 404, Response(b"Not Found", 404)
        if _password(request) != self.pat:
            self.exempt["401 unauthenticated"] += 1
            return 401, Response(b"Access Denied", 401,
                                 {"WWW-Authenticate": 'Basic realm="https://dev.azure.com/"'})
        checked = CheckedRequest(request.method, path, request.args, Headers(request.headers),
                                 body, request.mimetype or None)
        problem = self.checker.request(checked)
        if problem is not None:
            return self._send(None, api.error(400, problem, "InvalidRequestException"))
        fault = self.faults.draw(request.method)
        request.environ["azure_server.fault"] = fault
        if fault == "drop":
            return 0, None
        if fault == "5xx":
            return self._send(None, api.error(503, "Service Unavailable", "ServiceUnavailable"))
        if fault == "429":
            refusal = api.error(429, BLOCKED, "RequestBlockedException")
            return self._send(None, refusal._replace(
                headers=self.faults.limit_headers(delayed_by=0.0)))
        answer = self._answer(request, path[len(prefix):], body)
        if fault == "drop-after":
            return 0, None  # it took effect; the answer is lost
        if fault == "delay" and answer.status < 400:
            answer = answer._replace(headers=self.faults.limit_headers(delayed_by=0.5))
        return self._send(checked, answer)

    def _answer(self, request: Request, rest: str, body: bytes) -> api.Answer:
        project, _, route = rest.partition("/_apis")
        if project not in (self.model.project, self.model.project_id):
            return api.error(404, f"The project {project} does not exist.",
                             "ProjectDoesNotExistWithNameException")
        for method, pattern, name in _ROUTES:
            found = pattern.match(route)
            if found is None or method != request.method:
                continue
            args = dict(request.args.items())
            with self.model.lock:
                if name == "list":
                    return api.list_definitions(self.model, self.url, args)
                if name == "groups":
                    return api.list_groups(self.model, args)
                number = int(found.group(1))
                if name == "get":
                    return api.get_definition(self.model, self.url, number)
                if name == "revisions":
                    return api.revisions(self.model, self.url, number)
                try:
                    parsed = json.loads(body)
                except ValueError:
                    return api.error(400, "The request body is not JSON.", "ArgumentException")
                return api.put_definition(self.model, self.url, number, parsed)
        return api.error(404, f"No route for {request.method} {route}.", "NotFound")

    def _send(self, checked: CheckedRequest | None, answer: api.Answer,
              ) -> tuple[int, Response]:
        data = b"" if answer.body is None else json.dumps(answer.body).encode()
        headers = Headers(answer.headers or {})
        if data:
            headers["Content-Type"] = "application/json; charset=utf-8; api-version=7.1"
        if checked is None:
            self.exempt[f"{answer.status} refused request"] += 1
        elif str(answer.status) in documented_statuses(checked.method, checked.path):
            self.checker.response(checked, CheckedResponse(answer.status, data, headers))
        elif answer.status >= 400 and isinstance(answer.body, dict) and "typeKey" in answer.body:
            self.exempt[f"{answer.status} error answer"] += 1
        else:
            self.checker.note(f"{answer.status} to {checked.method.upper()} {checked.path}: "
                              "not in the description")
        return answer.status, Response(data, answer.status, headers)


def _credentials(request: Request) -> tuple[str, str] | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(value).decode().partition(":")
    except ValueError:
        return None
    return user, password


def _user(request: Request) -> str | None:
    found = _credentials(request)
    return None if found is None else found[0]


def _password(request: Request) -> str | None:
    found = _credentials(request)
    return None if found is None else found[1]
