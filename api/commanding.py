"""Writes: a command in, the decision's response out, with position and idempotency."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, g, jsonify, request

from api.consistency import POSITION_HEADER
from api.context import caller_key, meta, principal, services
from api.errors import detail
from commands import Command
from infra.dispatcher import FailedAfterAppend, Idempotency, Outcome

IDEMPOTENCY_HEADER = "Idempotency-Key"


def idempotency() -> Idempotency | None:
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    if not key or len(key) > 255 or not key.isprintable():
        raise detail(400, "Idempotency-Key must be 1 to 255 printable characters")
    body = request.get_json(silent=True)
    fingerprint = Idempotency.fingerprint_of(request.method, request.path, body)
    return Idempotency(f"token:{principal().token_id}", key, fingerprint)


def execute(
    command: Command,
    render: Callable[[Any], Any] = lambda r: r,
    status: int | Callable[[Any], int] = 200,
) -> Response:
    """Dispatch ``command``; a repeated Idempotency-Key returns the first response. ``status``
    may depend on the result (e.g. Sentry's 201 or 208 for a release)."""
    svc = services()
    code = status if callable(status) else lambda _: status
    try:
        outcome = svc.dispatch(
            command, meta(), idempotency=idempotency(), render=lambda result: (code(result), render(result))
        )
    except FailedAfterAppend as exc:  # appended, yet an error: the caller still reads what it wrote
        remember_write(exc.position, None)
        raise
    return _respond(outcome, render, code(outcome.result) if outcome.response is None else 200)


def execute_new(
    make: Callable[[int], Command],
    redis_key: str,
    render: Callable[[Any], Any] = lambda r: r,
    status: int = 201,
) -> Response:
    """Dispatch the command that creates an entity under a fresh snowflake id (drawn again on
    a collision, 409 when retries run out), with the same idempotency as ``execute``."""
    outcome = services().dispatch_with_new_id(
        make, redis_key, meta(), idempotency=idempotency(), render=lambda result: (status, render(result))
    )
    return _respond(outcome, render, status)


def remember_write(position: int, topics: tuple[str, ...] | None) -> None:
    """The caller's later reads wait for the views these events reach (read-your-writes)."""
    if "principal" in g:
        services().marks.remember(caller_key(g.principal), position, topics)


def _respond(outcome: Outcome, render: Callable[[Any], Any], status: int) -> Response:
    code, body = outcome.response or (status, render(outcome.result))
    response = Response(status=204) if code == 204 else jsonify(body)
    response.status_code = code
    position = outcome.position if outcome.position is not None else services().store.head()
    response.headers[POSITION_HEADER] = str(position)
    if outcome.position is not None:
        remember_write(outcome.position, None if outcome.replayed else outcome.topics)
    if outcome.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response
