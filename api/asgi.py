"""The app as the production server runs it: an event loop reads every request whole, then a
thread runs the Flask app on it.

A thread is only committed once the request has fully arrived, so clients that trickle their
body cannot occupy the threads that serve everyone else; a body that does not arrive within its
deadline is answered 408 and the connection closed. (Headers are read by the event loop too; the
worker in ``api.gunicorn_worker`` gives them a deadline.) The thread reads the buffered body
itself (``wsgi.input``), not through a2wsgi's chunk-by-chunk hand-off from the event loop: for a
32 MiB chunk upload that hand-off was half the request's time.
"""

from __future__ import annotations

import asyncio
import io
import json
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import IO, Any

from a2wsgi import WSGIMiddleware

from infra import telemetry
from infra.chunks import MAX_BODY_SIZE

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

THREADS = 8  # as many as a process's database pool holds connections
BODY_GRACE_SECONDS = 15.0
MIN_BODY_BYTES_PER_SECOND = 128 * 1024  # a 35 MiB chunk upload may take 5 minutes, not longer
# Bodies wait in memory while the process's waiting bodies stay within this budget (a 32 MiB
# chunk upload spooled to disk cost a full write and read of it), else in a temporary file.
IN_MEMORY_BUDGET = 256 * 1024 * 1024
BODY_KEY = "eventry.body"  # where the scope carries the whole body to the app's thread
BODY_TIMEOUT_DETAIL = "Request body not received in time"
BODY_TOO_LARGE_DETAIL = "Request too large"


def body_deadline(declared_length: int | None) -> float:
    """Seconds a body may take to arrive: a grace period plus its transfer at a slow link's rate."""
    return BODY_GRACE_SECONDS + (declared_length or MAX_BODY_SIZE) / MIN_BODY_BYTES_PER_SECOND


def buffered_bodies(app: ASGIApp) -> ASGIApp:
    """Hand ``app`` each HTTP request only once its body has fully arrived (or none is coming)."""

    async def serve(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await app(scope, receive, send)
        declared, chunked = _framing(scope)
        if not chunked and (not declared or declared > MAX_BODY_SIZE):
            # Nothing to wait for, or more than any route reads: the route refuses it by its length.
            return await app(scope, _no_body(receive), send)
        started = time.perf_counter()
        in_memory = _memory.take(declared if declared else 0)
        body = io.BytesIO() if in_memory else tempfile.TemporaryFile()  # noqa: SIM115 (closed below)
        try:
            try:
                async with asyncio.timeout(body_deadline(declared)):
                    refusal = await _read_body(receive, body)
            except TimeoutError:
                refusal = (408, BODY_TIMEOUT_DETAIL)
            if refusal:  # answered even to a client that left: gunicorn would answer 500 otherwise
                await _answer(send, *refusal)
                return _log_refusal(scope, refusal[0], started)
            size = body.tell()
            body.seek(0)
            framing = (b"content-length", b"transfer-encoding")
            scope["headers"] = [
                *((k, v) for k, v in scope["headers"] if k not in framing),
                (b"content-length", str(size).encode()),
            ]
            scope[BODY_KEY] = body  # read by the thread directly, not a chunk per hop
            await app(scope, _no_body(receive), send)
        finally:
            body.close()
            _memory.give_back(in_memory)
        return None

    return serve


class _Budget:
    """Bytes of waiting bodies held in memory by this process (its one event loop touches it)."""

    def __init__(self, limit: int) -> None:
        self.limit, self.used = limit, 0

    def take(self, size: int) -> int:
        """``size`` bytes taken (0: none; a body of unknown length never goes to memory)."""
        if size <= 0 or self.used + size > self.limit:
            return 0
        self.used += size
        return size

    def give_back(self, size: int) -> None:
        self.used -= size


_memory = _Budget(IN_MEMORY_BUDGET)


def threaded(wsgi_app: Any) -> ASGIApp:
    def whole_body(environ: Any, start_response: Any) -> Iterable[bytes]:
        body = environ["asgi.scope"].get(BODY_KEY)
        if body is not None:
            environ["wsgi.input"] = body
        answer: Iterable[bytes] = wsgi_app(environ, start_response)
        return answer

    middleware = WSGIMiddleware(whole_body, workers=THREADS)
    return buffered_bodies(middleware)  # type: ignore[arg-type]


def _framing(scope: Scope) -> tuple[int | None, bool]:
    """The declared Content-Length (None if absent or unreadable) and whether the body is chunked."""
    declared, chunked = None, False
    for name, value in scope["headers"]:
        if name == b"content-length" and value.strip().isdigit():
            declared = int(value)
        elif name == b"transfer-encoding":
            chunked = True
    return declared, chunked


async def _read_body(receive: Receive, body: IO[bytes]) -> tuple[int, str] | None:
    """None once the whole body is in ``body``; else the status and detail to answer."""
    while True:
        message = await receive()
        if message["type"] != "http.request":  # gone, or silent past gunicorn's --timeout
            return 408, BODY_TIMEOUT_DETAIL
        body.write(message.get("body", b""))
        if body.tell() > MAX_BODY_SIZE:
            return 413, BODY_TOO_LARGE_DETAIL
        if not message.get("more_body", False):
            return None


def _no_body(receive: Receive) -> Receive:
    sent = False

    async def empty() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": b"", "more_body": False}

    return empty


def _log_refusal(scope: Scope, status: int, started: float) -> None:
    client = scope.get("client") or ("", 0)
    telemetry.log_request(
        scope.get("method"), scope.get("path"), status, time.perf_counter() - started, client[0]
    )


async def _answer(send: Send, status: int, detail: str) -> None:
    payload = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
