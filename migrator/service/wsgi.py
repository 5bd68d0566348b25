"""The production WSGI server: waitress, with the limits a public endpoint needs.

waitress reads requests on one asynchronous loop and runs the app on a fixed pool of
threads, so a thousand slow clients cost a thousand small buffers, not a thousand
threads. On top of its own limits (header and body sizes, an idle timeout, a cap on
connections) this adds deadlines for reading a request's header and its body: a client
that sends one byte a minute is closed, however "active" it looks.

Bodies stay in memory (they are capped far below the size at which waitress would
spill them to a temporary file), so no request writes to disk by being received.
"""

from __future__ import annotations

import re
import time
from typing import Any, NamedTuple

from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import TcpWSGIServer

from migrator.service.body import MAX_BODY

MAX_HEADER = 16 * 1024
# waitress drops every header with an underscore (a proxy could not tell `A_B` from
# `A-B`); today's CI sends `FEEDSTOCK_TOKEN`, so that one name is read as if dashed
_TOKEN_LINE = re.compile(rb"(?im)^feedstock_token(?=[ \t]*:)")


class Limits(NamedTuple):
    threads: int = 8  # requests handled at once
    connections: int = 200  # open connections; more wait in the listen backlog
    idle_timeout: float = 30.0  # a connection with no request in flight
    header_timeout: float = 10.0  # from a request's first byte to the end of its header
    body_timeout: float = 30.0  # from the end of the header to the end of the body
    max_header: int = MAX_HEADER
    max_body: int = MAX_BODY

    @property
    def tick(self) -> float:
        """How often deadlines are checked: a tenth of the shortest one."""
        return max(0.05, min(self.idle_timeout, self.header_timeout, self.body_timeout) / 10)


class _Parser(HTTPRequestParser):
    def parse_header(self, header_plus: bytes) -> Any:
        return super().parse_header(_TOKEN_LINE.sub(b"Feedstock-Token", header_plus))


class _Channel(HTTPChannel):
    parser_class = _Parser
    reading: Any = None  # the request being read, if any
    started: float | None = None  # when its first bytes came
    header_done: float | None = None  # when its header was complete

    def received(self, data: bytes) -> Any:
        now = time.monotonic()
        answer = super().received(data)
        pending = self.request
        if pending is not self.reading:  # a new request (or none) is being read now
            self.reading, self.header_done = pending, None
            self.started = None if pending is None else now
        if pending is not None and pending.headers_finished and self.header_done is None:
            self.header_done = now
        return answer


class LimitedServer(TcpWSGIServer):
    channel_class = _Channel

    def __init__(self, app: Any, *, host: str, port: int, limits: Limits) -> None:
        adj = Adjustments(
            host=host, port=port, threads=limits.threads,
            connection_limit=limits.connections, max_request_header_size=limits.max_header,
            max_request_body_size=limits.max_body, inbuf_overflow=limits.max_body + 1,
            outbuf_overflow=8 * 1024 * 1024, expose_tracebacks=False, ident="migrator",
            asyncore_use_poll=True,
        )
        # waitress reads these as whole seconds; the deadlines below want fractions
        adj.channel_timeout = limits.idle_timeout
        adj.cleanup_interval = limits.tick
        adj.asyncore_loop_timeout = limits.tick
        self.limits = limits
        super().__init__(app, map={}, adj=adj)

    def maintenance(self, now: float) -> None:
        super().maintenance(now)  # the idle timeout
        mono = time.monotonic()
        for channel in list(self.active_channels.values()):
            started, header_done = channel.started, channel.header_done
            if channel.reading is None or started is None:
                continue
            late = (mono - header_done > self.limits.body_timeout if header_done is not None
                    else mono - started > self.limits.header_timeout)
            if late:
                channel.will_close = True
