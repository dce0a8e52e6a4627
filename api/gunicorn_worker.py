"""gunicorn's asyncio worker with a deadline for a connection's first request headers.

gunicorn's ASGI protocol bounds the wait for a kept-alive connection's next request (the
keep-alive timeout) and each wait for body data, but not the headers of a connection's first
request: a client that trickles them would hold its connection open for ever.
"""

from __future__ import annotations

import asyncio
from typing import Any

from gunicorn.asgi.protocol import ASGIProtocol
from gunicorn.workers import gasgi

HEADER_TIMEOUT_SECONDS = 10.0


class DeadlineProtocol(ASGIProtocol):
    _header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._header_deadline = self.worker.loop.call_later(HEADER_TIMEOUT_SECONDS, self._headers_late)

    def _headers_late(self) -> None:
        self._header_deadline = None
        if self.req_count <= 1 and self._current_request is None and not self._closed:
            self.log.debug("Closing a connection whose first request headers did not arrive in time")
            self._keepalive_timeout()  # closes the transport and wakes the connection's task

    def connection_lost(self, exc: Exception | None) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None
        super().connection_lost(exc)


class Worker(gasgi.ASGIWorker):
    """The ASGI worker serving connections with ``DeadlineProtocol``."""

    def init_process(self) -> None:
        # ASGIWorker._serve builds its protocol from this module-level name; only processes
        # that run this worker class import this module.
        gasgi.ASGIProtocol = DeadlineProtocol
        use_c_parser()
        super().init_process()


def use_c_parser() -> None:
    """gunicorn picks its C HTTP parser (gunicorn_h1c) by what this look-up records on the
    class it is called on, but reads ASGIProtocol's attributes: a subclass, which looks it up
    on itself, got the pure-Python parser (three copies of each body block instead of one).
    Recorded on ASGIProtocol, the C parser is used and its errors are answered as gunicorn's."""
    ASGIProtocol._check_h1c_protocol_available()
