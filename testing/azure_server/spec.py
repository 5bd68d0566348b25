"""Microsoft's description of the Azure DevOps operations the store calls (the vendored
OpenAPI 3 subset): checks every request the stand-in hears and every answer it sends."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict, MultiDict

SPEC_PATH = Path(__file__).resolve().parent.parent / "data" / "openapi" / \
    "azure-devops.subset.json"
HOST = "https://dev.azure.com"


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    return data


@lru_cache(maxsize=1)
def _openapi() -> OpenAPI:
    return OpenAPI.from_dict(document(), config=Config(spec_validator_cls=None))


class CheckedRequest:
    """What openapi-core reads of a request, for a path from the organisation on."""

    def __init__(self, method: str, path: str, query: MultiDict[str, str], headers: Headers,
                 body: bytes, content_type: str | None) -> None:
        self.host_url = HOST
        self.path = path
        self.method = method.lower()
        self.parameters = RequestParameters(query=ImmutableMultiDict(query), header=headers,
                                            cookie=ImmutableMultiDict())
        self.body = body or None
        self.content_type = content_type or "application/octet-stream"


class CheckedResponse:
    def __init__(self, status: int, body: bytes, headers: Headers) -> None:
        self.status_code = status
        self.data = body
        self.headers = headers
        self.content_type = "application/json" if body else "application/octet-stream"


class Checker:
    """Records every request or answer outside the description."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.violations: list[str] = []
        self.checked = {"requests": 0, "responses": 0}

    def request(self, req: CheckedRequest) -> str | None:
        return self._run("requests", f"{req.method.upper()} {req.path}",
                         lambda: _openapi().validate_request(req))

    def response(self, req: CheckedRequest, resp: CheckedResponse) -> str | None:
        return self._run("responses", f"{resp.status_code} to {req.method.upper()} {req.path}",
                         lambda: _openapi().validate_response(req, resp))

    def note(self, violation: str) -> None:
        with self._lock:
            self.violations.append(violation)

    def _run(self, kind: str, what: str, check: Callable[[], Any]) -> str | None:
        with self._lock:
            self.checked[kind] += 1
        try:
            check()
        except Exception as exc:  # openapi-core raises one class per kind of mismatch
            detail = f"{what}: {type(exc).__name__}: {_reason(exc)}"
            self.note(detail)
            return detail
        return None


def _reason(exc: BaseException) -> str:
    parts = [str(exc)]
    errors = getattr(exc.__cause__, "schema_errors", None) or getattr(exc, "schema_errors", None)
    if errors:
        parts += [getattr(e, "message", str(e)) for e in list(errors)[:3]]
    return " | ".join(p[:300] for p in parts)


@lru_cache(maxsize=1)
def _templates() -> list[tuple[re.Pattern[str], str]]:
    found = []
    for template in document()["paths"]:
        pattern = re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(template))
        found.append((re.compile(f"^{pattern}$"), template))
    return found


def documented_statuses(method: str, path: str) -> set[str]:
    """The answers the description lists for this request (empty: not an operation)."""
    template = next((t for pattern, t in _templates() if pattern.match(path)), None)
    if template is None:
        return set()
    return set(document()["paths"][template].get(method.lower(), {}).get("responses", {}))
