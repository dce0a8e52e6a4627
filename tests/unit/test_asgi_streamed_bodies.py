"""``api.asgi``: a body a route takes in as it arrives (a chunk upload) reaches its receiver
block by block, in order, in a body thread; the app gets the receiver, with the whole body in
it, and no buffered copy; a body refused on the way never reaches the app and is dropped."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from api.asgi import BODY_KEY, STREAMED_BODY, buffered_bodies
from infra.chunks import MAX_BODY_SIZE


class Sink:
    def __init__(self) -> None:
        self.blocks: list[bytes] = []
        self.threads: set[str] = set()
        self.closed = self.discarded = False

    def feed(self, block: bytes) -> None:
        assert not self.closed and not self.discarded
        self.threads.add(threading.current_thread().name)
        self.blocks.append(block)

    def close(self) -> None:
        self.closed = True

    def discard(self) -> None:
        self.discarded = True


def serve(messages: list[dict[str, Any]], sink: Sink, framing: tuple[bytes, bytes]) -> tuple[Any, list[Any]]:
    """The scope the app got (None if it was not called) and what was sent."""
    got: dict[str, Any] = {}
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: Any) -> None:
        sent.append(message)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert sink.closed and not sink.discarded  # the whole body is in before the app runs
        got.update(scope)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/0/organizations/o/chunk-upload/",
        "headers": [framing, (b"content-type", b"multipart/form-data; boundary=b")],
    }
    asyncio.run(buffered_bodies(app, lambda method, path, content_type: sink)(scope, receive, send))  # type: ignore[arg-type]
    return (got or None), sent


def test_a_streamed_body_reaches_its_receiver_in_order_in_a_body_thread() -> None:
    blocks = [bytes([n]) * (256 * 1024 + n) for n in range(40)]  # more than the window holds
    messages = [{"type": "http.request", "body": b, "more_body": True} for b in blocks]
    messages[-1]["more_body"] = False
    size = sum(map(len, blocks))
    sink = Sink()
    scope, sent = serve(messages, sink, (b"content-length", str(size).encode()))
    assert sink.blocks == blocks and sink.closed
    assert sink.threads and all(name.startswith("eventry-body") for name in sink.threads)
    assert scope[STREAMED_BODY] is sink and BODY_KEY not in scope
    assert (b"content-length", str(size).encode()) in scope["headers"]
    assert sent[0]["status"] == 200 and sink.discarded  # what the app left is dropped after it


def test_a_streamed_body_past_the_largest_request_is_refused_and_dropped() -> None:
    block = b"x" * (1 << 20)
    messages = [{"type": "http.request", "body": block, "more_body": True}] * (
        MAX_BODY_SIZE // len(block) + 2
    )
    sink = Sink()
    scope, sent = serve(messages, sink, (b"transfer-encoding", b"chunked"))
    assert scope is None and sent[0]["status"] == 413
    assert sink.discarded and not sink.closed


def test_a_streamed_body_whose_client_left_is_dropped() -> None:
    messages = [
        {"type": "http.request", "body": b"part of it", "more_body": True},
        {"type": "http.disconnect"},
    ]
    sink = Sink()
    scope, sent = serve(messages, sink, (b"content-length", b"1000"))
    assert scope is None and sent[0]["status"] == 408
    assert sink.blocks == [b"part of it"] and sink.discarded and not sink.closed
