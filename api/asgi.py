"""The app as the production server runs it: an event loop reads every request whole, then a
thread runs the Flask app on it.

A thread is only committed once the request has fully arrived, so clients that trickle their
body cannot occupy the threads that serve everyone else; a body that does not arrive within its
deadline is answered 408 and the connection closed. (Headers are read by the event loop too; the
worker in ``api.gunicorn_worker`` gives them a deadline.) The thread reads the buffered body
itself (``wsgi.input``), not through a2wsgi's chunk-by-chunk hand-off from the event loop: for a
32 MiB chunk upload that hand-off was half the request's time.

A body that a route takes in as it arrives (a chunk upload: ``sinks`` says which, and gives the
receiver) is not buffered: each block that arrives is handed to a body thread, which hashes and
writes it while the event loop receives the next. A body thread only ever has work for bytes
that are already there, so a trickling client still holds no thread; the app's thread gets the
receiver, filled, once the body is complete.
"""

from __future__ import annotations

import asyncio
import io
import json
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any, Protocol

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
# chunk upload spooled to disk cost a full write and read of it), else in a temporary file. A
# streamed body takes its window: what may wait for its body thread (past it, reading waits).
IN_MEMORY_BUDGET = 256 * 1024 * 1024
STREAM_WINDOW = 4 * 1024 * 1024
BODY_THREADS = 2  # hashing and writing streamed bodies; the machine has two cores
BODY_KEY = "eventry.body"  # where the scope carries the whole body to the app's thread
STREAMED_BODY = "eventry.streamed_body"  # where the scope and environ carry a streamed body's receiver
BODY_TIMEOUT_DETAIL = "Request body not received in time"
BODY_TOO_LARGE_DETAIL = "Request too large"


def body_deadline(declared_length: int | None) -> float:
    """Seconds a body may take to arrive: a grace period plus its transfer at a slow link's rate."""
    return BODY_GRACE_SECONDS + (declared_length or MAX_BODY_SIZE) / MIN_BODY_BYTES_PER_SECOND


class BodySink(Protocol):
    """Takes a body in as it arrives: ``feed`` each block in order, ``close`` at its end (both
    in a body thread, and never raising: it keeps an error for the app); ``discard`` drops
    what the app left of it."""

    def feed(self, block: bytes) -> None: ...

    def close(self) -> None: ...

    def discard(self) -> None: ...


Sinks = Callable[[str, str, str], BodySink | None]  # (method, path, Content-Type) -> receiver


def buffered_bodies(app: ASGIApp, sinks: Sinks | None = None) -> ASGIApp:
    """Hand ``app`` each HTTP request only once its body has fully arrived (or none is coming);
    a body ``sinks`` gives a receiver for is fed to it as it arrives, instead of buffered."""

    async def serve(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await app(scope, receive, send)
        declared, chunked = _framing(scope)
        if not chunked and (not declared or declared > MAX_BODY_SIZE):
            # Nothing to wait for, or more than any route reads: the route refuses it by its length.
            return await app(scope, _no_body(receive), send)
        started = time.perf_counter()
        sink = sinks(scope["method"], scope["path"], _header(scope, b"content-type")) if sinks else None
        in_memory = _memory.take(STREAM_WINDOW if sink else declared or 0)
        body = _Streamed(sink, in_memory) if sink else _Buffered(in_memory)
        try:
            try:
                async with asyncio.timeout(body_deadline(declared)):
                    refusal = await _read_body(receive, body)
            except TimeoutError:
                refusal = (408, BODY_TIMEOUT_DETAIL)
            if refusal:  # answered even to a client that left: gunicorn would answer 500 otherwise
                await _answer(send, *refusal)
                return _log_refusal(scope, refusal[0], started)
            framing = (b"content-length", b"transfer-encoding")
            scope["headers"] = [
                *((k, v) for k, v in scope["headers"] if k not in framing),
                (b"content-length", str(body.size).encode()),
            ]
            body.hand_over(scope)
            await app(scope, _no_body(receive), send)
        finally:
            try:
                await body.close()
            finally:
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


class _Buffered:
    """A body waiting whole for the app: in memory when ``in_memory``, else in a temporary file."""

    def __init__(self, in_memory: int) -> None:
        self.file: IO[bytes] = io.BytesIO() if in_memory else tempfile.TemporaryFile()  # noqa: SIM115 (closed by close)
        self.size = 0

    async def write(self, block: bytes) -> None:
        self.file.write(block)
        self.size += len(block)

    async def end(self) -> None:
        self.file.seek(0)

    def hand_over(self, scope: Scope) -> None:
        scope[BODY_KEY] = self.file  # read by the thread directly, not a chunk per hop

    async def close(self) -> None:
        self.file.close()


class _Streamed:
    """A body fed to its receiver as it arrives, by a body thread: one batch of blocks at a
    time, while the next ones gather (up to ``window`` bytes; past it, reading waits)."""

    def __init__(self, sink: BodySink, window: int) -> None:
        self.sink, self.window = sink, window
        self.size = 0
        self.pending: list[bytes] = []
        self.waiting = 0  # bytes in ``pending``
        self.batch: asyncio.Future[None] | None = None

    async def write(self, block: bytes) -> None:
        self.size += len(block)
        self.pending.append(block)
        self.waiting += len(block)
        if self.batch is not None and (self.batch.done() or self.waiting > self.window):
            await asyncio.shield(self.batch)  # a deadline stops the waiting, not the thread
            self.batch = None
        if self.batch is None:
            self.batch = _in_body_thread(self._feed, self.pending, False)
            self.pending, self.waiting = [], 0

    async def end(self) -> None:
        if self.batch is not None:
            await asyncio.shield(self.batch)
        self.batch = _in_body_thread(self._feed, self.pending, True)
        self.pending = []
        await asyncio.shield(self.batch)

    def _feed(self, blocks: list[bytes], last: bool) -> None:
        for block in blocks:
            self.sink.feed(block)
        if last:
            self.sink.close()

    def hand_over(self, scope: Scope) -> None:
        scope[STREAMED_BODY] = self.sink

    async def close(self) -> None:
        """Drop what the app left, once no batch is being fed any more (the batch of a body
        that missed its deadline may still be running)."""
        if self.batch is not None and not self.batch.done():
            try:
                await asyncio.shield(self.batch)
            except asyncio.CancelledError:  # the connection is being torn down: drop it later
                self.batch.add_done_callback(lambda _: self.sink.discard())
                raise
        self.sink.discard()


_body_threads: ThreadPoolExecutor | None = None


def _in_body_thread(
    feed: Callable[[list[bytes], bool], None], blocks: list[bytes], last: bool
) -> asyncio.Future[None]:
    global _body_threads
    if _body_threads is None:  # made in the worker process that uses it
        _body_threads = ThreadPoolExecutor(BODY_THREADS, thread_name_prefix="eventry-body")
    return asyncio.get_running_loop().run_in_executor(_body_threads, feed, blocks, last)


def threaded(wsgi_app: Any, sinks: Sinks | None = None) -> ASGIApp:
    def whole_body(environ: Any, start_response: Any) -> Iterable[bytes]:
        scope = environ["asgi.scope"]
        body = scope.get(BODY_KEY)
        if body is not None:
            environ["wsgi.input"] = body
        elif STREAMED_BODY in scope:  # the body went to its receiver: nothing left to read
            environ["wsgi.input"] = io.BytesIO()
            environ[STREAMED_BODY] = scope[STREAMED_BODY]
        answer: Iterable[bytes] = wsgi_app(environ, start_response)
        return answer

    middleware = WSGIMiddleware(whole_body, workers=THREADS)
    return buffered_bodies(middleware, sinks)  # type: ignore[arg-type]


def _header(scope: Scope, name: bytes) -> str:
    return next((value.decode("latin-1") for key, value in scope["headers"] if key == name), "")


def _framing(scope: Scope) -> tuple[int | None, bool]:
    """The declared Content-Length (None if absent or unreadable) and whether the body is chunked."""
    declared, chunked = None, False
    for name, value in scope["headers"]:
        if name == b"content-length" and value.strip().isdigit():
            declared = int(value)
        elif name == b"transfer-encoding":
            chunked = True
    return declared, chunked


class _Body(Protocol):
    size: int

    async def write(self, block: bytes) -> None: ...

    async def end(self) -> None: ...


async def _read_body(receive: Receive, body: _Body) -> tuple[int, str] | None:
    """None once the whole body is in ``body``; else the status and detail to answer."""
    while True:
        message = await receive()
        if message["type"] != "http.request":  # gone, or silent past gunicorn's --timeout
            return 408, BODY_TIMEOUT_DETAIL
        block = message.get("body", b"")
        if body.size + len(block) > MAX_BODY_SIZE:
            return 413, BODY_TOO_LARGE_DETAIL
        if block:
            await body.write(block)
        if not message.get("more_body", False):
            await body.end()
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
