"""Writes: a command in, the decision's response out, with position and idempotency."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, jsonify, request

from api.consistency import POSITION_HEADER
from api.context import meta, principal, services
from api.errors import detail
from commands import Command
from infra.dispatcher import Idempotency

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


def execute(command: Command, render: Callable[[Any], Any] = lambda r: r, status: int = 200) -> Response:
    """Dispatch ``command``; a repeated Idempotency-Key returns the first response."""
    svc = services()
    outcome = svc.dispatch(
        command, meta(), idempotency=idempotency(), render=lambda result: (status, render(result))
    )
    code, body = outcome.response or (status, render(outcome.result))
    response = jsonify(body)
    response.status_code = code
    position = outcome.position if outcome.position is not None else svc.store.head()
    response.headers[POSITION_HEADER] = str(position)
    if outcome.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response
