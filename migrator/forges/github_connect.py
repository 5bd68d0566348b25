"""Reaching GitHub at all: a server that cannot be connected to within the connect
timeout (MIGRATOR_CONNECT_TIMEOUT) is `Unreachable`, one line for the user, instead of a
request retried for minutes. The paced adapter and git over HTTPS decide it for their own
traffic; `AppRetry` does for the App token exchange, which PyGithub sends itself."""

from __future__ import annotations

import re
import time
from types import TracebackType
from typing import Any

import requests
import urllib3.exceptions
from github.GithubRetry import GithubRetry
from urllib3.connectionpool import ConnectionPool
from urllib3.response import BaseHTTPResponse

from migrator.core.connect import DEFAULT as CONNECT_TIMEOUT
from migrator.core.connect import ENV as CONNECT_ENV
from migrator.forges import ForgeError

_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")]+)")


class Unreachable(ForgeError):
    """No connection could be made to the server within the connect timeout."""

    code = "unreachable"

    def __init__(self, server: str, seconds: float, why: str) -> None:
        super().__init__(f"cannot reach {server} within {seconds:g} s ({why}); check the "
                         f"address, the network, or {CONNECT_ENV}")


def never_connected(exc: Exception) -> bool:
    """The request never reached the server (refused, no route, no name, no answer to
    the connection attempt), as opposed to a connection dropped mid-request."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, (urllib3.exceptions.NewConnectionError,
                               urllib3.exceptions.ConnectTimeoutError))


def why_unreachable(exc: Exception) -> str:
    """The operating system's words for it ('Connection refused'), not a repr."""
    found = _ERRNO.search(str(exc))
    if found:
        return found.group(1).strip()
    if "timed out" in str(exc):
        return "no answer to the connection attempt"
    return "the connection failed"


class AppRetry(GithubRetry):
    """PyGithub's retry policy for the App token exchange (its own connection, outside
    the paced adapter), with the connect timeout: a server that cannot be connected to
    for that long is Unreachable instead of being retried for many minutes."""

    def __init__(self, *, connect_timeout: float = CONNECT_TIMEOUT,
                 failing_since: float | None = None, **kwargs: Any) -> None:
        self.connect_timeout, self.failing_since = connect_timeout, failing_since
        super().__init__(**kwargs)

    def new(self, **kw: Any) -> AppRetry:
        kw.update(connect_timeout=self.connect_timeout, failing_since=self.failing_since)
        made: AppRetry = super().new(**kw)
        return made

    def increment(
        self, method: str | None = None, url: str | None = None,
        response: BaseHTTPResponse | None = None, error: Exception | None = None,
        _pool: ConnectionPool | None = None, _stacktrace: TracebackType | None = None,
    ) -> AppRetry:
        connect_error = isinstance(error, (urllib3.exceptions.NewConnectionError,
                                           urllib3.exceptions.ConnectTimeoutError))
        now = time.monotonic()
        since = self.failing_since
        if connect_error and since is None:
            since = now
        retry: AppRetry = super().increment(  # type: ignore[assignment]
            method, url, response, error, _pool, _stacktrace)  # type: ignore[arg-type]
        if connect_error and since is not None and (
                now - since + retry.get_backoff_time() >= self.connect_timeout):
            server = "the GitHub API" if _pool is None else (
                f"{_pool.scheme}://{_pool.host}" + (f":{_pool.port}" if _pool.port else ""))
            raise Unreachable(server, self.connect_timeout, why_unreachable(error or Exception()))
        retry.failing_since = since  # this request's own count; the template stays clean
        return retry
