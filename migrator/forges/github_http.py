"""The one seam between PyGithub and the network: every REST request of the GitHub forge
leaves through `PacedAdapter`, which waits for its place in the pacing queue, retries
server errors, dropped connections and limit answers, and counts what it sent. A server
that cannot be connected to at all is given the connect timeout, not the whole retry
budget: then the request fails with `github_connect.Unreachable`."""

from __future__ import annotations

import contextlib
import re
import threading
import time
import urllib.parse
from collections import Counter
from typing import Any

import requests
import requests.adapters
from github.Auth import Auth
from github.Requester import Requester, RequestsResponse

from migrator.core import deadline
from migrator.core.connect import DEFAULT as CONNECT_TIMEOUT
from migrator.forges.github_connect import (
    AppRetry,
    Unreachable,
    never_connected,
    why_unreachable,
)
from migrator.forges.pacing import WRITE_METHODS, Pacer

USER_AGENT = "conda-forge-migrator"
# a request that meets a server error or a dropped connection 9 times in a row is failing,
# not unlucky; waits double from `backoff` seconds up to half a minute
ATTEMPTS = 10
MAX_DELAY = 30.0
_REPO_PATH = re.compile(r"/repos/[^/]+/([^/?]+)")


class Tally:
    """Requests sent, by repository (`-` for organisation-wide ones)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.writes: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()

    def add(self, method: str, url: str, status: int | None) -> None:
        match = _REPO_PATH.search(urllib.parse.urlsplit(url).path)
        repo = urllib.parse.unquote(match.group(1)) if match else "-"
        with self._lock:
            self.requests[repo] += 1
            self.writes[repo] += int(method in WRITE_METHODS)
            if status is not None:
                self.statuses[status] += 1


class PacedAdapter(requests.adapters.HTTPAdapter):
    def __init__(self, pacer: Pacer, tally: Tally, *, attempts: int = ATTEMPTS,
                 backoff: float = 1.0, pool_size: int = 16,
                 connect_timeout: float = CONNECT_TIMEOUT) -> None:
        # urllib3 must not retry on its own: a retry that skipped the queue would burst
        super().__init__(max_retries=0, pool_connections=pool_size, pool_maxsize=pool_size)
        self.pacer, self.tally = pacer, tally
        self.attempts, self.backoff_base = attempts, backoff
        self.connect_timeout = connect_timeout

    def send(self, request: requests.PreparedRequest, *args: Any,
             **kwargs: Any) -> requests.Response:
        method = (request.method or "GET").upper()
        url = request.url or ""
        read_timeout = kwargs.get("timeout")
        if isinstance(read_timeout, tuple):
            read_timeout = read_timeout[1]
        failing_since: float | None = None  # first attempt that could not connect
        for attempt in range(1, self.attempts + 1):
            last = attempt == self.attempts
            with contextlib.ExitStack() as held:
                # waiting for GitHub's permission is not the feedstock's time
                with deadline.paused():
                    held.enter_context(self.pacer.slot(method))
                tried = time.monotonic()
                connect_left = self.connect_timeout - (tried - (failing_since or tried))
                kwargs["timeout"] = (max(0.1, connect_left), read_timeout)
                try:
                    response = super().send(request, *args, **kwargs)
                except (requests.ConnectionError, requests.Timeout) as exc:
                    # a PUT or PATCH sent again sets the same state; a POST may repeat a
                    # comment, which costs less than a failed feedstock
                    self.tally.add(method, url, None)
                    self.pacer.note_fault("dropped")
                    if never_connected(exc):
                        if failing_since is None:
                            failing_since = tried
                        if time.monotonic() - failing_since >= self.connect_timeout:
                            raise Unreachable(server_of(url), self.connect_timeout,
                                              why_unreachable(exc)) from None
                    if last:
                        raise
                    response = None
            if response is not None:
                self.tally.add(method, url, response.status_code)
                kind = self.pacer.observe(response.status_code, response.headers,
                                          _message(response))
                if kind is None or last:
                    return response
                response.close()
                if kind != "5xx":
                    continue  # the queue holds every request until GitHub allows it
            wait = delay(self.backoff_base, attempt)
            if response is None and failing_since is not None:
                left = self.connect_timeout - (time.monotonic() - failing_since)
                wait = max(0.0, min(wait, left))
            with deadline.paused():
                self.pacer.backoff(wait)
        raise AssertionError("unreachable")


def server_of(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def delay(base: float, attempt: int) -> float:
    return min(base * 2 ** (attempt - 1), MAX_DELAY)


def _message(response: requests.Response) -> str | None:
    if response.status_code not in (403, 429):
        return None
    try:
        data = response.json()
    except ValueError:
        return None
    return data.get("message") if isinstance(data, dict) else None


class _Connection:
    """What PyGithub's Requester expects of a connection, sending through one session.

    The Requester keeps one connection for all threads; the call in progress is kept per
    thread so parallel reads do not mix their requests up."""

    scheme = "https"
    session: requests.Session

    def __init__(self, host: str, port: int | None = None, strict: bool = False,
                 timeout: float | None = None, retry: Any = None, pool_size: int | None = None,
                 **kwargs: Any) -> None:
        self.host, self.port = host, port
        self.origin = f"{self.scheme}://{host}" + (f":{port}" if port else "")
        self.timeout = timeout
        self.verify = kwargs.get("verify", True)
        self._call = threading.local()

    def request(self, verb: str, url: str, input: Any, headers: dict[str, str],
                stream: bool = False) -> None:
        self._call.args = (verb, url, input, headers, stream)

    def getresponse(self) -> RequestsResponse:
        verb, url, body, headers, stream = self._call.args
        answer = self.session.request(
            verb, self.origin + url, headers=headers, data=body, timeout=self.timeout,
            verify=self.verify, allow_redirects=False, stream=stream,
        )
        return RequestsResponse(answer)

    def close(self) -> None:
        """The session belongs to the forge, which closes it."""


def paced_session(adapter: PacedAdapter) -> requests.Session:
    session = requests.Session()
    # a set `auth` keeps requests from reading ~/.netrc; PyGithub sets the header itself
    session.auth = Requester.noopAuth
    session.trust_env = False
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def requester(*, auth: Auth | None, base_url: str, session: requests.Session,
              timeout: float = 30.0, per_page: int = 100, attempts: int = ATTEMPTS,
              backoff: float = 1.0, secondary_wait: float = 60.0,
              connect_timeout: float = CONNECT_TIMEOUT) -> Requester:
    """A PyGithub Requester whose requests all leave through `session`.

    PyGithub picks its connection classes from two class attributes of Requester; a
    subclass bound to this session replaces them for this forge only. The App token
    exchange builds its own plain Requester (it speaks as the App, a different identity
    with its own limits) and gets PyGithub's GithubRetry policy through `retry`, bounded
    by the connect timeout (AppRetry)."""
    bound = {
        f"_Requester__{scheme}ConnectionClass": type(
            f"{scheme.upper()}Connection", (_Connection,), {"scheme": scheme, "session": session})
        for scheme in ("http", "https")
    }
    cls = type("PacedRequester", (Requester,), bound)
    retry = AppRetry(total=attempts, backoff_factor=backoff, backoff_max=MAX_DELAY,
                     secondary_rate_wait=secondary_wait, connect_timeout=connect_timeout)
    made: Requester = cls(
        auth=auth, base_url=base_url.rstrip("/"), timeout=int(timeout), user_agent=USER_AGENT,
        per_page=per_page, verify=True, retry=retry, pool_size=None,
    )
    return made
