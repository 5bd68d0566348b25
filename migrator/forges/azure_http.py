"""The one way the Azure Pipelines store reaches Azure DevOps: JSON over HTTPS with a
personal access token, every request through the shared pacing queue, server errors and
dropped connections retried, limit answers waited out, and what was sent counted per
feedstock.

The token goes into the `Authorization` header of each request and nowhere else: not the
session, not a log line, not an error message.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import re
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import requests
import requests.adapters

from migrator.core.errors import MigratorError
from migrator.core.secret import Secret
from migrator.forges.pacing import SLOW_DOWN, WRITE_METHODS, Pacer

log = logging.getLogger(__name__)

API_VERSION = "7.1"
USER_AGENT = "conda-forge-migrator"
ATTEMPTS = 8  # a request failing 7 times in a row is failing, not unlucky
MAX_DELAY = 30.0
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?$")


class AzureHttpError(MigratorError):
    """Azure DevOps refused a request; `status` 0 when no answer came."""

    def __init__(self, message: str, *, status: int, type_key: str = "") -> None:
        super().__init__(message)
        self.status, self.type_key = status, type_key


class Answer(NamedTuple):
    status: int
    body: Any


def classify(status: int, headers: Mapping[str, str], message: str | None) -> str | None:
    """Azure DevOps blocks with 429 and delays with a real answer that carries
    `Retry-After` or `X-RateLimit-Delay` (its "delayed" state)."""
    if status == 429:
        return "blocked"
    if status < 400 and ("retry-after" in headers or "x-ratelimit-delay" in headers):
        return SLOW_DOWN
    return None


class Tally:
    """Requests sent, by label (the feedstock a request was for, `-` for run-wide ones)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.writes: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()

    def add(self, label: str, method: str, status: int | None) -> None:
        with self._lock:
            self.requests[label] += 1
            self.writes[label] += int(method in WRITE_METHODS)
            if status is not None:
                self.statuses[status] += 1


def scrub(text: str, secrets: Iterable[Secret]) -> str:
    """`text` with every secret's value masked: an error message may quote a request."""
    for secret in secrets:
        text = text.replace(secret.reveal(), "********")
    return text


class AzureHttp:
    def __init__(self, *, base_url: str, organization: str, project: str, pat: Secret,
                 pacer: Pacer, timeout: float = 30.0, attempts: int = ATTEMPTS,
                 backoff: float = 1.0) -> None:
        self.root = f"{base_url.rstrip('/')}/{organization}/{project}/_apis"
        self._pat = pat
        self.pacer, self.tally = pacer, Tally()
        self.timeout, self.attempts, self.backoff = timeout, attempts, backoff
        self.session = requests.Session()
        self.session.trust_env = False  # no ~/.netrc credentials, no proxy from the env
        # urllib3 must not retry on its own: a retry that skipped the queue would burst
        adapter = requests.adapters.HTTPAdapter(max_retries=0, pool_maxsize=16)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)

    def close(self) -> None:
        self.session.close()

    def _headers(self) -> dict[str, str]:
        # a personal access token is the password of HTTP basic with an empty user name
        basic = base64.b64encode(f":{self._pat.reveal()}".encode()).decode()
        # without FedAuthRedirect, refused credentials get a 203 sign-in page, not a 401
        return {"Authorization": f"Basic {basic}", "Accept": "application/json",
                "User-Agent": USER_AGENT, "X-TFS-FedAuthRedirect": "Suppress"}

    def call(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
             body: Any = None, label: str = "-", secrets: Iterable[Secret] = ()) -> Answer:
        """One request, retried until it has a real answer. Answers of 400 and above
        other than 404 and 409 raise AzureHttpError (their message scrubbed of
        `secrets`)."""
        secrets = tuple(secrets)
        query = {**(params or {}), "api-version": API_VERSION}
        for attempt in range(1, self.attempts + 1):
            last = attempt == self.attempts
            with self.pacer.slot(method):
                try:
                    response = self.session.request(
                        method, self.root + path, params=query, json=body,
                        headers=self._headers(), timeout=self.timeout, allow_redirects=False)
                except (requests.ConnectionError, requests.Timeout) as exc:
                    self.tally.add(label, method, None)
                    self.pacer.note_fault("dropped")
                    log.debug("azure %s %s: no answer (%s)", method, path, type(exc).__name__)
                    if last:
                        raise AzureHttpError(f"{method} {path}: no answer from Azure DevOps "
                                             f"after {attempt} attempts", status=0) from None
                    response = None
            if response is not None:
                self.tally.add(label, method, response.status_code)
                log.debug("azure %s %s: %s", method, path, response.status_code)
                message, type_key = _error_of(response)
                kind = self.pacer.observe(response.status_code, response.headers, message)
                if kind is None:
                    return _answer(method, path, response, message, type_key, secrets)
                if last:
                    raise AzureHttpError(
                        f"{method} {path}: {response.status_code} after {attempt} attempts",
                        status=response.status_code, type_key=type_key)
                response.close()
                if kind != "5xx":
                    continue  # the queue holds every request until Azure DevOps allows it
            self.pacer.backoff(min(self.backoff * 2 ** (attempt - 1), MAX_DELAY))
        raise AssertionError("unreachable")


def _error_of(response: requests.Response) -> tuple[str | None, str]:
    if response.status_code < 400:
        return None, ""
    try:
        data = response.json()
    except ValueError:
        return None, ""
    if not isinstance(data, dict):
        return None, ""
    return str(data.get("message") or ""), str(data.get("typeKey") or "")


def _answer(method: str, path: str, response: requests.Response, message: str | None,
            type_key: str, secrets: tuple[Secret, ...]) -> Answer:
    status = response.status_code
    if status in (401, 403) or status == 203:
        # 203 is the sign-in page Azure DevOps serves to a request it could not identify
        raise AzureHttpError(f"Azure DevOps refused the credentials in AZURE_DEVOPS_TOKEN "
                             f"({status} to {method} {path})", status=status)
    if status >= 400 and status not in (404, 409):
        reason = scrub(message or response.reason or "", secrets)
        raise AzureHttpError(f"{status} to {method} {path}: {reason}", status=status,
                             type_key=type_key)
    if status >= 400:
        return Answer(status, {"message": scrub(message or "", secrets), "typeKey": type_key})
    if not response.content:
        return Answer(status, None)
    if "json" not in response.headers.get("Content-Type", ""):
        raise AzureHttpError(f"{status} to {method} {path} is not JSON", status=status)
    return Answer(status, response.json())


def parse_time(text: str) -> dt.datetime:
    """Azure DevOps' timestamps (.NET: up to 7 fraction digits, `Z`) as aware UTC."""
    found = _STAMP.match(text.strip())
    if found is None:
        raise ValueError(f"not a timestamp: {text[:40]!r}")
    head, fraction, zone = found.groups()
    if fraction:  # Python before 3.11 takes exactly 3 or 6 digits
        head += "." + fraction[:6].ljust(6, "0")
    parsed = dt.datetime.fromisoformat(head + ("+00:00" if zone in ("", "Z") else zone))
    return parsed.astimezone(dt.timezone.utc)
