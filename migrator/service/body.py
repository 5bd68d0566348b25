"""Turning the bytes of a request body into JSON, or a BadRequest saying why not.

The body must be UTF-8 (the JSON standard's only encoding between systems; Python's
`json.loads` would otherwise guess UTF-16 or UTF-32 from the first bytes) and nested
no deeper than a copy request ever is, with room to spare. Depth is measured before
parsing, so that a body of 100,000 nested arrays costs one pass over its bytes and no
recursion at all.
"""

from __future__ import annotations

import json
import re
from typing import Any

from migrator.service.request import BadRequest

MAX_BODY = 256 * 1024  # a request for 100 outputs is about 35 KiB
MAX_DEPTH = 16  # a copy request is 2 deep
# strings (with their escapes) are skipped; what is left are the brackets that nest
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")


def too_deep(raw: bytes, limit: int = MAX_DEPTH) -> bool:
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    level = 0
    for match in _BRACKETS.finditer(_STRING.sub(b'""', raw)):
        level += 1 if match.group() in (b"[", b"{") else -1
        if level > limit:
            return True
    return False


def decode(raw: bytes) -> Any:
    if len(raw) > MAX_BODY:
        raise BadRequest(f"the body has {len(raw)} bytes; at most {MAX_BODY}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"the body is not UTF-8 (byte {exc.start})") from None
    if too_deep(raw):
        raise BadRequest(f"the body nests deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        where = f" at line {exc.lineno} column {exc.colno}" if isinstance(
            exc, json.JSONDecodeError) else ""
        raise BadRequest(f"the body is not JSON{where}") from None
