"""GitHub's own description of its REST API: checks what the server hears and says, and
builds answers that it allows.

Answers are built from the description (`fill`): every required field is there, with
the server's values where it has them and plain defaults elsewhere, so an answer the
server sends is one GitHub could send.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from functools import lru_cache
from pathlib import Path
from typing import Any

from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict, MultiDict

SPEC_PATH = Path(__file__).resolve().parent.parent / "data" / "openapi" / \
    "api.github.com.subset.json"
HOST = "https://api.github.com"
STAMP = "2025-01-01T00:00:00Z"


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    return data


@lru_cache(maxsize=1)
def _openapi() -> OpenAPI:
    return OpenAPI.from_dict(document(), config=Config(spec_validator_cls=None))


_CONTENTS = re.compile(r"^(/repos/[^/]+/[^/]+/contents/)(.+)$")


def expand(path: str) -> str:
    """The contents API's `{path}` parameter holds a file path; clients (PyGithub,
    octokit) send its slashes as they are, and an RFC 6570 expansion of the same value
    escapes them. The value is the same parameter either way; check it escaped."""
    found = _CONTENTS.match(path)
    if found is None:
        return path
    return found.group(1) + urllib.parse.quote(urllib.parse.unquote(found.group(2)), safe="")


class CheckedRequest:
    """What openapi-core reads of a request, for a path relative to the API root."""

    def __init__(self, method: str, path: str, query: MultiDict[str, str],
                 headers: Headers, body: bytes, content_type: str | None) -> None:
        self.host_url = HOST
        self.path = expand(path)
        self.method = method.lower()
        self.parameters = RequestParameters(query=query, header=headers,
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

    def _run(self, kind: str, what: str, check: Any) -> str | None:
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
    cause = exc.__cause__
    errors = getattr(cause, "schema_errors", None) or getattr(exc, "schema_errors", None)
    if errors:
        parts += [getattr(e, "message", str(e)) for e in list(errors)[:3]]
    return " | ".join(p[:300] for p in parts)


@lru_cache(maxsize=1)
def _templates() -> list[tuple[re.Pattern[str], str]]:
    found = []
    for template in document()["paths"]:
        pattern = re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(template))
        found.append((re.compile(f"^{pattern}$"), template))
    # literal segments win: /actions/secrets/public-key before /actions/secrets/{name}
    return sorted(found, key=lambda item: item[1].count("{"))


def operation_of(req: CheckedRequest) -> str | None:
    return next((t for pattern, t in _templates() if pattern.match(req.path)), None)


def documented_statuses(method: str, template: str) -> set[str]:
    operation = document()["paths"][template].get(method.lower(), {})
    return set(operation.get("responses", {}))


# -- answers built from the description ---------------------------------------------------
def fill(name: str, values: dict[str, Any] | None = None) -> Any:
    """An object of schema `name` with `values` and every other required field."""
    return _fill({"$ref": f"#/components/schemas/{name}"}, values)


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        kind, name = schema["$ref"].split("/")[-2:]
        schema = document()["components"][kind][name]
    return schema


def _fill(schema: dict[str, Any], value: Any) -> Any:
    schema = _resolve(schema)
    if "allOf" in schema:
        merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
        for part in schema["allOf"]:
            part = _resolve(part)
            merged["properties"].update(part.get("properties", {}))
            merged["required"] += part.get("required", [])
        return _fill(merged, value)
    for key in ("oneOf", "anyOf"):
        if key in schema:
            options = [_resolve(s) for s in schema[key]]
            if value is None and any(o.get("type") == "null" for o in options):
                return None
            chosen = next((o for o in options if o.get("type") not in (None, "null")),
                          options[0])
            return _fill(chosen, value)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if value is None and schema.get("nullable") and kind != "object":
        return None
    if kind == "object" or "properties" in schema:
        if value is None and schema.get("nullable"):
            return None
        given = dict(value or {})
        out = {}
        props = schema.get("properties", {})
        for key in schema.get("required", []):
            out[key] = _fill(props.get(key, {}), given.pop(key, None)) if key in props \
                else given.pop(key, None)
        for key, item in given.items():
            out[key] = _fill(props[key], item) if key in props and isinstance(item, dict) \
                else item
        return out
    if value is not None:
        return value
    if kind == "array":
        return []
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return False
    if kind == "string":
        if "enum" in schema:
            return schema["enum"][0]
        fmt = schema.get("format")
        if fmt == "date-time":
            return STAMP
        if fmt == "uri":
            return f"{HOST}/"
        if fmt == "email":
            return "bot@example.org"
        return ""
    return None
