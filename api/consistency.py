"""Read-your-writes: reads wait, bounded, until their views reach the position asked for."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request

from api import context
from api.context import services
from api.errors import detail

POSITION_HEADER = "X-Eventry-Position"
MIN_POSITION_HEADER = "X-Eventry-Min-Position"


def parse_position(raw: str | None, name: str) -> int | None:
    if raw is None or raw == "":
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise detail(400, f"{name} must be a non-negative integer")
    return int(raw)


def requested_min_position() -> int | None:
    return parse_position(
        request.headers.get(MIN_POSITION_HEADER) or request.args.get("min_position"), "min_position"
    )


def consistent(views: list[str]) -> None:
    """Wait until the views this request reads show the caller's own acknowledged writes, and
    the position the caller asked for, if any (for readers that are not the writer)."""
    names = ["directory", *views]
    wanted = max(requested_min_position() or 0, context.own_write_position(names))
    if wanted:
        context.wait_until(wanted, names)


def with_position(body: Any, views: list[str], status: int = 200) -> Response:
    """A read response stamped with the position its views had reached."""
    response = jsonify(body)
    response.status_code = status
    positions = services().engine.served_positions(views)
    if positions:
        response.headers[POSITION_HEADER] = str(min(positions.values()))
    return response
