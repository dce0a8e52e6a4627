"""Read-your-writes: reads wait, bounded, until their views reach the position asked for."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request

from api.context import services
from api.errors import detail

POSITION_HEADER = "X-Eventry-Position"
MIN_POSITION_HEADER = "X-Eventry-Min-Position"


def parse_position(raw: str | None, name: str) -> int | None:
    if raw is None or raw == "":
        return None
    if not raw.isdigit():
        raise detail(400, f"{name} must be a non-negative integer")
    return int(raw)


def requested_min_position() -> int | None:
    return parse_position(
        request.headers.get(MIN_POSITION_HEADER) or request.args.get("min_position"), "min_position"
    )


def wait_for(position: int | None, views: list[str], name: str = "min_position") -> None:
    """Wait until ``views`` have applied ``position``: 400 past the log's end, 503 on timeout."""
    if position is None:
        return
    svc = services()
    head = svc.store.head()
    if position > head:
        raise detail(400, f"{name} {position} is beyond the end of the log (position {head})")
    if not svc.engine.wait(position, views, timeout=svc.settings.read_wait_timeout):
        raise detail(
            503,
            f"The read model has not reached position {position} yet; try again",
            {"Retry-After": "1"},
        )


def consistent(views: list[str]) -> None:
    """Honour the caller's min position for the views this request reads."""
    wait_for(requested_min_position(), ["directory", *views])


def with_position(body: Any, views: list[str], status: int = 200) -> Response:
    """A read response stamped with the position its views had reached."""
    response = jsonify(body)
    response.status_code = status
    positions = services().engine.positions(views)
    if positions:
        response.headers[POSITION_HEADER] = str(min(positions.values()))
    return response
