"""The request bodies the stand-in accepts, and what it records when a client sends
anything else.

anaconda.org publishes no machine-readable description of its API; this is the shape
anaconda-client 1.16 (`binstar_client`) sends for each call, read from its source, and
conda-forge-webservices' use of it. A body that does not fit is refused with 400 and
recorded in `violations`; the test fixtures fail a test that caused any.
"""

from __future__ import annotations

import re
import threading
from typing import Any

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
STR, OPT_STR, BOOL, DICT, ANY, LABELS = "str", "str|None", "bool", "dict", "any", "labels"

# endpoint -> (required fields, optional fields), each field -> kind
BODIES: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "add_package": ({"public": BOOL, "publish": BOOL, "public_attrs": DICT}, {}),
    "add_release": ({"requirements": ANY, "announce": ANY, "description": ANY}, {"*": ANY}),
    "update_release": ({"public_attrs": DICT}, {}),
    "stage": ({"distribution_type": STR, "attrs": DICT, "channels": LABELS,
               "sha256": "sha256"}, {"description": ANY, "dependencies": ANY}),
    "commit": ({"dist_id": STR}, {}),
    "copy": ({"from_channel": STR, "to_channel": STR}, {"to_owner": OPT_STR}),
    "label": ({}, {"package": OPT_STR, "version": OPT_STR, "basename": OPT_STR}),
}


def _fits(kind: str, value: Any) -> bool:
    if kind == ANY:
        return True
    if kind == STR:
        return isinstance(value, str) and bool(value)
    if kind == OPT_STR:
        return value is None or (isinstance(value, str) and bool(value))
    if kind == BOOL:
        return isinstance(value, bool)
    if kind == DICT:
        return isinstance(value, dict)
    if kind == LABELS:
        return isinstance(value, list) and all(isinstance(v, str) and v for v in value)
    if kind == "sha256":
        return isinstance(value, str) and bool(_SHA256.match(value))
    raise ValueError(kind)


def body_problem(endpoint: str, body: Any) -> str | None:
    """Why `body` is not what anaconda-client sends to `endpoint`; None when it is."""
    required, optional = BODIES[endpoint]
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    for key, kind in required.items():
        if key not in body:
            return f"missing field {key!r}"
        if not _fits(kind, body[key]):
            return f"field {key!r} is not a {kind}"
    for key, value in body.items():
        if key in required:
            continue
        allowed = optional.get(key, optional.get("*"))
        if allowed is None:
            return f"unknown field {key!r}"
        if not _fits(allowed, value):
            return f"field {key!r} is not a {allowed}"
    return None


def header_problem(authorization: str | None, content_type: str | None, *,
                   has_body: bool) -> str | None:
    if authorization is not None and not authorization.startswith("token "):
        return "Authorization must read 'token <token>'"
    if has_body and (content_type or "").split(";")[0].strip() != "application/json":
        return f"a JSON body needs Content-Type application/json, not {content_type!r}"
    return None


class Checker:
    def __init__(self) -> None:
        self.violations: list[str] = []
        self._lock = threading.Lock()

    def note(self, problem: str) -> None:
        with self._lock:
            self.violations.append(problem)
