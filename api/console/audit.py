"""``/console/{org}/audit/``: the audit log page (the API's query, paged and filtered the same
way) and its live tail, a server-sent event stream of the entries written since."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

from flask import Response, render_template, request, stream_with_context

from api import context
from api.audit_names import SENTRY_API_NAMES
from api.consistency import consistent, parse_position
from api.console.web import bp, organization, page
from api.routes.audit import entries
from projections import audit_log

VIEWS = ["audit_log"]
FILTERS = ("event", "actor", "start", "end", "cursor")
PER_PAGE = "25"
# A tail holds one of the process's request threads (api/asgi.py has 8) while it is open, so
# it is bounded in time and in number: the browser's EventSource reconnects after it ends,
# carrying the last entry's id (Last-Event-ID), and a tail refused for want of room tells it
# to come back later.
TAIL_SECONDS = 25.0
TAIL_POLL_SECONDS = 0.5
TAIL_KEEPALIVE_SECONDS = 10.0
MAX_TAILS = 2
_tails = threading.BoundedSemaphore(MAX_TAILS)


@bp.get("/<org_slug>/audit/")
@context.requires(context.ORG_WRITE)
def audit(org_slug: str) -> str:
    org = organization(org_slug)
    consistent(VIEWS)
    args = {k: v for k, v in request.args.items() if k in FILTERS and v}
    found = entries(org.id, {**_whole_range(args), "per_page": PER_PAGE})
    filters = {k: v for k, v in args.items() if k != "cursor"}
    tail = "cursor" not in args and "end" not in args  # only the newest page follows the log
    template = "_audit_entries.html" if request.headers.get("HX-Request") else "audit.html"
    return page(
        template,
        org=org,
        found=found,
        filters=filters,
        events=SENTRY_API_NAMES,
        tail=tail,
        newest=max((int(r["id"]) for r in found.rows), default=_newest_id(org.id)),
    )


@bp.get("/<org_slug>/audit/tail")
@context.requires(context.ORG_WRITE)
def audit_tail(org_slug: str) -> Response:
    org = organization(org_slug)
    last = parse_position(request.headers.get("Last-Event-ID") or request.args.get("after"), "after") or 0
    actor = parse_position(request.args.get("actor"), "actor")
    query = audit_log.AuditQuery(org.id, request.args.get("event") or None, actor)
    return _sse(stream_with_context(_follow(query, last)))


def _follow(query: audit_log.AuditQuery, last: int) -> Iterator[str]:
    if not _tails.acquire(blocking=False):  # taken here: a stream never started holds nothing
        yield "retry: 5000\n: busy, come back later\n\n"
        return
    try:
        yield "retry: 1000\n\n"
        deadline = time.monotonic() + TAIL_SECONDS
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            with context.services().engine.read("audit_log") as view:
                newer = audit_log.query(view, _after(query, last))
            for row in newer:
                last = int(row["id"])
                html = render_template("_audit_row.html", row=row).replace("\n", " ")
                yield f"id: {last}\nevent: entry\ndata: {html}\n\n"
                quiet_since = time.monotonic()
            if time.monotonic() - quiet_since > TAIL_KEEPALIVE_SECONDS:
                yield ": keep-alive\n\n"
                quiet_since = time.monotonic()
            time.sleep(TAIL_POLL_SECONDS)
    finally:
        _tails.release()


def _whole_range(args: dict[str, str]) -> dict[str, str]:
    """The API wants both ends of a time range; the form may give one: the other is open."""
    if "start" in args and "end" not in args:
        return {**args, "end": datetime.now(UTC).isoformat()}
    if "end" in args and "start" not in args:
        return {**args, "start": "1970-01-01T00:00:00+00:00"}
    return args


def _after(query: audit_log.AuditQuery, last: int) -> audit_log.AuditQuery:
    return audit_log.AuditQuery(
        query.organization_id, query.api_name, query.actor_id, after_id=last, limit=50
    )


def _sse(body: Iterator[str]) -> Response:
    return Response(
        body, mimetype="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )


def _newest_id(organization_id: int) -> int:
    with context.services().engine.read("audit_log") as view:
        rows = audit_log.query(view, audit_log.AuditQuery(organization_id, limit=1))
    return int(rows[0]["id"]) if rows else 0
