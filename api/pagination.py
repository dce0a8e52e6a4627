"""Sentry's ``OffsetPaginator``: ``per_page`` (default and max 100) and cursors
``<limit>:<page>:<is_prev>``, with the ``Link`` header sentry-cli follows."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from flask import Response, request

from api.drf import BIGINT_MAX
from api.errors import ApiError

MAX_PER_PAGE = 100
INVALID_CURSOR = "Invalid cursor parameter."
_INTEGER = re.compile(r"-?[0-9]{1,19}")  # ASCII digits: str.isdigit() also takes "²", int() does not
# What RFC 3986 allows in a path segment besides letters and digits ("/" separates them).
_PATH_SAFE = "/-._~!$&'()*+,;=:@"


@dataclass(frozen=True)
class Page:
    offset: int
    limit: int
    page: int


def parse_cursor(raw: str) -> tuple[int, int, int]:
    """``value:offset:is_prev`` as Sentry's ``Cursor.from_string`` reads it, each part within
    the signed 64-bit range that every column it meets can hold."""
    parts = raw.split(":")
    if len(parts) != 3 or not all(_INTEGER.fullmatch(p) for p in parts):
        raise ApiError(400, {"detail": INVALID_CURSOR})
    value, offset, is_prev = (int(p) for p in parts)
    if max(abs(value), abs(offset), abs(is_prev)) > BIGINT_MAX:
        raise ApiError(400, {"detail": INVALID_CURSOR})
    return value, offset, is_prev


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
    value, page, _ = parse_cursor(cursor)
    page = max(page, 0)
    offset = page * (value or per_page)
    # OffsetPaginator's BadPaginationError messages; the page reads rows up to offset + limit + 1.
    if offset < 0:
        raise ApiError(400, {"detail": "Pagination offset cannot be negative"})
    if offset > BIGINT_MAX - per_page - 1:
        raise ApiError(400, {"detail": "Pagination offset too large"})
    return Page(offset, per_page, page)


def paginate(fetch: Callable[[int, int], list[Any]], respond: Callable[[list[Any]], Response]) -> Response:
    """Fetch one row more than the page to know whether a next page exists."""
    page = requested_page()
    rows = fetch(page.offset, page.limit + 1)
    response = respond(rows[: page.limit])
    previous = f"{page.limit}:{page.page - 1}:1"
    following = f"{page.limit}:{page.page + 1}:0"
    response.headers["Link"] = link_header(
        (previous, "previous", page.page > 0), (following, "next", len(rows) > page.limit)
    )
    return response


def link_header(*links: tuple[str, str, bool]) -> str:
    """``Link`` entries ``(cursor, rel, results)`` to this URL with another cursor. The URL is
    percent-encoded as Sentry's ``build_cursor_link`` does (a header is latin-1 at most: a
    release version with an en dash in the path was a 500 behind gunicorn)."""
    params = [(k, v) for k, v in request.args.items(multi=True) if k != "cursor"]
    base = request.host_url.rstrip("/") + quote(request.script_root + request.path, safe=_PATH_SAFE)

    def link(cursor: str, rel: str, results: bool) -> str:
        url = f"{base}?{urlencode([*params, ('cursor', cursor)])}"
        return f'<{url}>; rel="{rel}"; results="{str(results).lower()}"; cursor="{cursor}"'

    return ", ".join(link(*entry) for entry in links)
