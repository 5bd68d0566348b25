"""A small client for anaconda.org's HTTP API (what anaconda-client's `Binstar` calls),
on `requests`: one owner's token, a timeout on every call, and retries with backoff
for answers and failures that a second try may cure (5xx, 429, dropped connections,
timeouts). 4xx answers are raised at once as `ApiError` (`NotFound`, `Conflict`).

The token is a `Secret`; it is revealed only into the `Authorization` header of a call
to the API itself, never into storage or redirect URLs, messages or logs.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests

from migrator.core.secret import Secret

log = logging.getLogger(__name__)
API_URL = "https://api.anaconda.org"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_TRANSIENT = (requests.ConnectionError, requests.Timeout,
              requests.exceptions.ChunkedEncodingError)


class ApiError(Exception):
    """anaconda.org refused a call, or kept failing; the message names the call."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class NotFound(ApiError):
    pass


class Conflict(ApiError):
    pass


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    backoff: float = 0.5  # seconds before the second try; doubled each time after
    max_backoff: float = 8.0
    connect_timeout: float = 10.0
    read_timeout: float = 120.0  # what conda-forge-webservices gives anaconda.org

    def delay(self, attempt: int) -> float:
        base = min(self.backoff * 2 ** (attempt - 1), self.max_backoff)
        return base * (0.5 + random.random() / 2)


def quote(part: str) -> str:
    """One path segment; a basename's slash too (`noarch%2Ffoo-1.0-0.conda`), as
    conda-forge-webservices sends it."""
    return urllib.parse.quote(part, safe="")


class AnacondaApi:
    def __init__(self, base_url: str = API_URL, token: Secret | None = None, *,
                 policy: RetryPolicy | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.policy = policy or RetryPolicy()
        self._local = threading.local()  # a Session per thread: the service copies in parallel

    def __repr__(self) -> str:
        return f"AnacondaApi({self.base_url!r})"

    @property
    def session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            # an explicit no-op auth: requests would otherwise put .netrc credentials
            # over the token header (anaconda-client's NullAuth does the same)
            session.auth = _as_given
            session.headers["Accept"] = "application/json"
        return session

    def call(self, method: str, path: str, *, json: Any = None,
             ok: tuple[int, ...] = (200,)) -> Any:
        """The decoded JSON answer (None for an empty body) of an API call."""
        response = self.send(method, self.base_url + path, json=json,
                             headers=self.authorization(), ok=ok, what=f"{method} {path}")
        return response.json() if response.content else None

    def authorization(self) -> dict[str, str]:
        """The header for calls to the API itself (not for storage locations)."""
        if self._token is None:
            return {}
        return {"Authorization": f"token {self._token.reveal()}"}

    def send(self, method: str, url: str, *, what: str, ok: tuple[int, ...] = (200,),
             headers: Mapping[str, str] | None = None, stream: bool = False,
             allow_redirects: bool = False, **kwargs: Any) -> requests.Response:
        """One request, retried while the failure is transient. `what` names it in
        messages (never the URL of a signed storage location)."""
        policy = self.policy
        for attempt in range(1, policy.attempts + 1):
            reason: str
            try:
                response = self.session.request(
                    method, url, headers=dict(headers or {}), stream=stream,
                    allow_redirects=allow_redirects,
                    timeout=(policy.connect_timeout, policy.read_timeout), **kwargs)
            except _TRANSIENT as exc:
                reason = type(exc).__name__
            else:
                if response.status_code in ok:
                    return response
                if response.status_code not in RETRY_STATUSES:
                    raise _error(what, response)
                reason = f"HTTP {response.status_code}"
                wait = _retry_after(response)
                response.close()
                if wait is not None and attempt < policy.attempts:
                    log.warning("%s: %s, retrying in %.1f s", what, reason, wait)
                    time.sleep(wait)
                    continue
            if attempt == policy.attempts:
                raise ApiError(f"{what}: {reason} after {attempt} tries")
            wait = policy.delay(attempt)
            log.warning("%s: %s, retrying in %.2f s", what, reason, wait)
            time.sleep(wait)
        raise AssertionError("unreachable")


def _as_given(request: requests.PreparedRequest) -> requests.PreparedRequest:
    return request


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return min(float(value), 60.0) if value.isdigit() else None


def _error(what: str, response: requests.Response) -> ApiError:
    try:
        detail = response.json().get("error")
    except (ValueError, AttributeError):
        detail = None
    message = f"{what}: HTTP {response.status_code}" + (f" ({detail})" if detail else "")
    kind = {404: NotFound, 409: Conflict}.get(response.status_code, ApiError)
    return kind(message, response.status_code)
