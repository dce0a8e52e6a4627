"""Sentry's ``OffsetPaginator``: ``per_page`` (default and max 100) and cursors
``<limit>:<page>:<is_prev>``, with the ``Link`` header sentry-cli follows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask import Response, request

from api.errors import ApiError

MAX_PER_PAGE = 100


@dataclass(frozen=True)
class Page:
    offset: int
    limit: int
    page: int


def requested_page(default_per_page: int = 100) -> Page:
    raw = request.args.get("per_page")
    try:
        per_page = int(raw) if raw is not None else default_per_page
    except ValueError:
        raise ApiError(400, {"detail": "Invalid per_page parameter."}) from None
    if per_page > MAX_PER_PAGE:
        raise ApiError(400, {"detail": f"Invalid per_page value. Cannot exceed {MAX_PER_PAGE}."})
    per_page = max(per_page, 1)
    cursor = request.args.get("cursor") or ""
    if not cursor:
        return Page(0, per_page, 0)
    parts = cursor.split(":")
    if len(parts) != 3 or not all(p.lstrip("-").isdigit() for p in parts):
        raise ApiError(400, {"detail": "Invalid cursor parameter."})
    value, page = int(parts[0]), max(int(parts[1]), 0)
    size = value or per_page
    return Page(page * size, per_page, page)


def paginate(fetch: Callable[[int, int], list[Any]], respond: Callable[[list[Any]], Response]) -> Response:
    """Fetch one row more than the page to know whether a next page exists."""
    page = requested_page()
    rows = fetch(page.offset, page.limit + 1)
    response = respond(rows[: page.limit])
    response.headers["Link"] = _link(page, has_next=len(rows) > page.limit)
    return response


def _link(page: Page, has_next: bool) -> str:
    params = {k: v for k, v in request.args.items() if k != "cursor"}

    def link(cursor: str, rel: str, results: bool) -> str:
        url = f"{request.base_url}?{urlencode({**params, 'cursor': cursor})}"
        return f'<{url}>; rel="{rel}"; results="{str(results).lower()}"; cursor="{cursor}"'

    previous = f"{page.limit}:{page.page - 1}:1"
    following = f"{page.limit}:{page.page + 1}:0"
    return f"{link(previous, 'previous', page.page > 0)}, {link(following, 'next', has_next)}"
