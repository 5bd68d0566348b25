"""What CI runs: send a copy request as a job and poll it, so no single HTTP call lasts
long enough for a proxy to cut it. A service that refuses connections (restarting, a
wrong address) is tried again until the connect timeout (MIGRATOR_CONNECT_TIMEOUT)
runs out; then, like any service that does not answer, it is a `ServiceUnreachable`."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from migrator.core.connect import connect_timeout as env_connect_timeout
from migrator.core.errors import MigratorError, UserError
from migrator.core.secret import Secret
from migrator.service.webapp import TOKEN_HEADER


class ServiceUnreachable(MigratorError):
    """No answer from the validation service: nothing was decided about the outputs."""

    code = "unreachable"


def _call(base: str, path: str, *, reach: float, body: Any = None,
          token: Secret | None = None, timeout: float = 30.0) -> tuple[int, dict[str, Any]]:
    data = None if body is None else json.dumps(body).encode()
    failing_since, pause = None, 0.25
    while True:
        req = urllib.request.Request(base + path, data=data, method="POST" if data else "GET")
        req.add_header("Content-Type", "application/json")
        if token is not None:
            req.add_unredirected_header(TOKEN_HEADER, token.reveal())
        tried = time.monotonic()
        try:
            with urllib.request.urlopen(req, timeout=timeout) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            try:
                payload = json.loads(exc.read() or b"{}")
            except json.JSONDecodeError:
                payload = {"errors": [f"HTTP {exc.code}"]}
            return exc.code, payload
        except urllib.error.URLError as exc:  # no connection was made
            failing_since = tried if failing_since is None else failing_since
            left = reach - (time.monotonic() - failing_since)
            if left <= 0:
                raise ServiceUnreachable(f"cannot reach the validation service at {base} "
                                         f"within {reach:g} s ({_words(exc.reason)})") from None
            time.sleep(min(pause, left))
            pause = min(pause * 2, 5.0)
        except (OSError, ValueError) as exc:  # connected, then no (readable) answer
            raise ServiceUnreachable(f"the validation service at {base} gave no usable "
                                     f"answer: {_words(exc)}") from None


def copy_via_service(base_url: str, body: dict[str, Any], token: Secret, *,
                     wait: float = 1800.0, poll: float = 2.0,
                     connect_timeout: float | None = None) -> tuple[int, dict[str, Any]]:
    """(status, report): 200 when every output is published. ServiceUnreachable when the
    service cannot be reached within `connect_timeout` seconds (default: from the
    environment) or stops answering."""
    reach = env_connect_timeout() if connect_timeout is None else connect_timeout
    base = base_url.rstrip("/")
    parts = urllib.parse.urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UserError(f"{base_url!r} is not an http:// or https:// address")
    status, payload = _call(base, "/feedstock-outputs/jobs", reach=reach, body=body,
                            token=token)
    if status != 202:
        return status, payload
    deadline, status_path = time.monotonic() + wait, payload["status_url"]
    while time.monotonic() < deadline:
        time.sleep(poll)
        status, payload = _call(base, status_path, reach=reach)
        if status == 200 and payload.get("done"):
            return int(payload.get("status", 200)), payload
        if status not in (200, 202):
            return status, payload
    return 504, {"errors": [f"the job did not finish within {wait:.0f} s"], **payload}


def _words(reason: object) -> str:
    """An OS error's own words ('Connection refused'), not its repr."""
    return getattr(reason, "strerror", None) or str(reason) or type(reason).__name__
