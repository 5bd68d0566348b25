"""What CI runs: send a copy request as a job and poll it, so no single HTTP call lasts
long enough for a proxy to cut it."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

from migrator.core.secret import Secret
from migrator.service.webapp import TOKEN_HEADER


def _call(url: str, *, body: Any = None, token: Secret | None = None,
          timeout: float = 30.0) -> tuple[int, dict[str, Any]]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    req.add_header("Content-Type", "application/json")
    if token is not None:
        req.add_unredirected_header(TOKEN_HEADER, token.reveal())
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            payload = json.loads(exc.read() or b"{}")
        except json.JSONDecodeError:
            payload = {"errors": [f"HTTP {exc.code}"]}
        return exc.code, payload


def copy_via_service(base_url: str, body: dict[str, Any], token: Secret, *,
                     wait: float = 1800.0, poll: float = 2.0) -> tuple[int, dict[str, Any]]:
    """(status, report): 200 when every output is published."""
    base = base_url.rstrip("/")
    status, payload = _call(f"{base}/feedstock-outputs/jobs", body=body, token=token)
    if status != 202:
        return status, payload
    deadline = time.monotonic() + wait
    url = f"{base}{payload['status_url']}"
    while time.monotonic() < deadline:
        time.sleep(poll)
        status, payload = _call(url)
        if status == 200 and payload.get("done"):
            return int(payload.get("status", 200)), payload
        if status not in (200, 202):
            return status, payload
    return 504, {"errors": [f"the job did not finish within {wait:.0f} s"], **payload}
