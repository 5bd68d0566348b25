"""A stateful stand-in for the parts of GitHub the forge uses, over real HTTP.

REST lives under /api/v3 (as on GitHub Enterprise), git's smart HTTP at /<org>/<repo>.git.
Every REST request is checked against GitHub's OpenAPI description before it is served,
and every answer built from the model is checked before it is sent; anything outside the
description is recorded in `checker.violations` (the fixture fails the test on it).
Injected faults and limit answers are not checked against an operation: GitHub documents
them for every operation at once, not per operation.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import socket
import threading
import time
from collections import Counter
from typing import Any, NamedTuple

import jwt
from werkzeug.datastructures import Headers
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from testing.github_server import githttp
from testing.github_server.api import Answer, Ctx, error
from testing.github_server.api_talk import ROUTES
from testing.github_server.limits import DOCS, Faults, Limits
from testing.github_server.model import Model
from testing.github_server.spec import (
    CheckedRequest,
    CheckedResponse,
    Checker,
    documented_statuses,
    operation_of,
)

API = "/api/v3"
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_REPO = re.compile(r"^/repos/[^/]+/([^/]+)")
_REPO_ID = re.compile(r"/repositories/(\d+)$")


class Entry(NamedTuple):
    at: float  # when the request arrived
    method: str
    path: str
    status: int
    identity: str
    kind: str  # api | git
    repo: str | None
    write: bool
    fault: str | None  # injected fault or limit refusal, if any


class _Quiet(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class GithubServer:
    def __init__(self, *, org: str = "conda-forge", primary: int = 5000,
                 window: float = 3600.0, ceilings: tuple[tuple[int, float], ...] = (),
                 faults: Faults | None = None, token_ttl: float = 3600.0) -> None:
        self.model = Model(org, token_ttl=token_ttl)
        self.limits = Limits(primary=primary, window=window, ceilings=ceilings)
        self.faults = faults or Faults()
        self.checker = Checker()
        self.exempt: Counter[str] = Counter()  # answers not checked, by reason
        self.log: list[Entry] = []
        self._log_lock = threading.Lock()
        self.admin_token, _ = self.model.issue_token("user:admin", ttl=10.0 ** 9)
        self._server: Any = None
        self.url = ""
        self.local: Any = None  # the local forge whose repositories it serves, if any

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> GithubServer:
        self._server = make_server("127.0.0.1", 0, self, threaded=True,
                                   request_handler=_Quiet)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def api_url(self) -> str:
        return self.url + API

    def app_env(self) -> dict[str, str]:
        app = self.model.app
        return {"GITHUB_APP_ID": str(app.app_id), "GITHUB_APP_PRIVATE_KEY": app.private_pem,
                "GITHUB_APP_INSTALLATION_ID": str(app.installation_id),
                "GITHUB_API_URL": self.api_url, "GITHUB_SERVER_URL": self.url}

    def entries(self, kind: str | None = None) -> list[Entry]:
        with self._log_lock:
            return [e for e in self.log if kind is None or e.kind == kind]

    # -- WSGI --------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        environ["github_server.arrival"] = time.time()
        request = Request(environ)
        path = request.path
        try:
            if path.startswith(API + "/"):
                response = self._api(request, path[len(API):])
            elif (found := githttp.match(path)) is not None:
                response = self._git(request, *found)
            else:
                response = Response(b"Not Found", 404)
        except Exception as exc:  # a bug here must fail the test, not pass as a 5xx fault
            self.checker.note(f"server error on {request.method} {path}: {exc!r}")
            response = Response(b"server error", 500)
        if response is None:  # an injected dropped connection
            sock = environ.get("werkzeug.socket")
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)
            start_response("599 Dropped", [])  # never reaches the client
            return []
        return response(environ, start_response)

    def _record(self, request: Request, path: str, status: int, identity: str | None,
                kind: str, fault: str | None) -> None:
        repo = None
        if kind == "git":
            found = githttp.match(request.path)
            repo = found[1] if found else None
        elif (match := _REPO.match(path)) is not None:
            repo = match.group(1)
        elif (match := _REPO_ID.search(path)) is not None:
            by_id = self.model.repo_by_id(int(match.group(1)))
            repo = by_id.name if by_id else None
        entry = Entry(request.environ["github_server.arrival"], request.method, path, status,
                      identity or "-", kind, repo, request.method in WRITES and kind == "api",
                      fault)
        with self._log_lock:
            self.log.append(entry)

    def _identity(self, request: Request, path: str) -> str | None:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "basic":
            _, _, value = base64.b64decode(value).decode(errors="replace").partition(":")
        elif path.startswith("/app/") and scheme.lower() == "bearer":
            try:
                claims = jwt.decode(value, self.model.app.public_pem, algorithms=["RS256"])
            except jwt.PyJWTError:
                return None
            return f"app:{claims.get('iss')}"
        return self.model.identity(value) if value else None

    # -- REST --------------------------------------------------------------------------
    def _api(self, request: Request, path: str) -> Response | None:
        body = request.get_data()
        checked = CheckedRequest(request.method, path, request.args,
                                 Headers(request.headers), body, request.mimetype or None)
        identity = self._identity(request, path)
        problem = self.checker.request(checked)
        if problem is not None:
            return self._send(request, path, error(400, problem), identity, None, None)
        if identity is None:
            answer = error(401, "Bad credentials" if request.headers.get("Authorization")
                           else "Requires authentication")
            return self._send(request, path, answer, None, checked, None)
        write = request.method in WRITES
        fault = self.faults.draw()
        if fault == "drop":
            self._record(request, path, 0, identity, "api", fault)
            return None
        if fault == "5xx":
            answer = error(502 if self.faults.injected[fault] % 2 else 503, "Server Error")
            return self._send(request, path, answer, identity, None, fault)
        refusal = self.faults.refusal(fault, identity) if fault else \
            self.limits.admit(identity, write)
        if refusal is not None:
            answer = Answer(refusal.status, {"message": refusal.message,
                                             "documentation_url": DOCS}, refusal.headers)
            return self._send(request, path, answer, identity, None, refusal.kind)
        try:
            endpoint, params = ROUTES.bind("api").match(path, method=request.method)
        except (NotFound, MethodNotAllowed):
            return self._send(request, path, error(404, "Not Found"), identity, checked, None)
        try:
            parsed = json.loads(body) if body else {}
        except ValueError:
            return self._send(request, path, error(400, "Problems parsing JSON"), identity,
                              checked, None)
        ctx = Ctx(self.model, identity, request.method, dict(request.args.items()), parsed,
                  self.api_url, path, request.headers.get("Authorization", ""), self.limits)
        answer = endpoint(ctx, **params)
        return self._send(request, path, answer, identity, checked, None)

    def _send(self, request: Request, path: str, answer: Answer, identity: str | None,
              checked: CheckedRequest | None, fault: str | None) -> Response:
        data = b"" if answer.body is None else json.dumps(answer.body).encode()
        headers = Headers(answer.headers or {})
        if identity is not None and fault is None:
            for key, value in self.limits.headers(identity).items():
                headers.setdefault(key, value)
        status = answer.status
        if request.method == "GET" and status == 200:
            etag = 'W/"' + hashlib.sha1(data).hexdigest() + '"'
            headers["ETag"] = etag
            if request.headers.get("If-None-Match") == etag:
                status, data = 304, b""
                if identity is not None:
                    self.limits.refund(identity)
        if checked is not None:
            self._check(checked, status, data, headers)
        else:
            self.exempt[fault or "refused request"] += 1
        self._record(request, path, status, identity, "api", fault)
        if data:
            headers["Content-Type"] = "application/json; charset=utf-8"
        return Response(data, status, headers)

    def _check(self, checked: CheckedRequest, status: int, data: bytes,
               headers: Headers) -> None:
        template = operation_of(checked)
        documented = documented_statuses(checked.method, template) if template else set()
        if str(status) in documented:
            self.checker.response(checked, CheckedResponse(status, data, headers))
        elif status == 304:
            self.exempt["304 to a conditional request"] += 1
        elif status >= 400 and isinstance(json.loads(data or b"null"), dict) and \
                "message" in json.loads(data):
            self.exempt[f"{status} error answer"] += 1
        else:
            self.checker.note(
                f"{status} to {checked.method.upper()} {checked.path}: not in the description")

    # -- git ---------------------------------------------------------------------------
    def _git(self, request: Request, org: str, repo: str, rest: str) -> Response:
        identity = self._identity(request, rest)
        found = self.model.repo(repo) if org == self.model.org else None
        query = request.query_string.decode()
        if identity is None:
            answer = Response(b"Invalid username or token.\n", 401,
                              {"WWW-Authenticate": 'Basic realm="GitHub"'})
        elif found is None:
            answer = Response(b"Repository not found.\n", 404)
        elif githttp.is_push(rest, query) and found.archived:
            answer = Response(b"This repository was archived so it is read-only.\n", 403)
        elif self.faults.draw(git=True):
            answer = Response(b"Internal Server Error\n", 500)
        else:
            cgi = githttp.run(
                found.git_dir, rest, method=request.method, query=query,
                content_type=request.headers.get("Content-Type"),
                encoding=request.headers.get("Content-Encoding"),
                protocol=request.headers.get("Git-Protocol"), body=request.get_data(),
                user="x-access-token")
            if rest == "/git-receive-pack" and cgi.status == 200:
                with self.model.lock:
                    found.pushes += 1
                    found.pushed_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            answer = Response(cgi.body, cgi.status, cgi.headers)
        self._record(request, request.path, answer.status_code, identity, "git",
                     "5xx" if answer.status_code == 500 else None)
        return answer
