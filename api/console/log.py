"""``/console/{org}/log/``: the organization's events (from the ``org_events`` index, payloads
from the log), one stream's history, a project's options and relay config as of any position
with a diff between two, and a chart of events per minute by type."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from flask import request

from api import context
from api.consistency import consistent, parse_position
from api.console.web import bp, organization, page
from api.errors import ApiError
from events import Recorded, streams, to_payload
from infra import as_of
from projections import org_events
from projections.directory import find_project
from projections.org_events import EventQuery, LoggedEvent

VIEWS = ["org_events"]
PER_PAGE = 30
CHART_MINUTES = 60
# Never shown, even to the token's own organization: a token's hash is its stream's key.
REDACTED = frozenset({"token_hash"})


@bp.get("/<org_slug>/log/")
@context.requires(context.ORG_WRITE)
def log(org_slug: str) -> str:
    org = organization(org_slug)
    consistent(VIEWS)
    topic = request.args.get("topic") or None
    query = EventQuery(
        org.id, topic=topic, before=parse_position(request.args.get("before"), "before"), limit=PER_PAGE
    )
    with context.services().engine.read("org_events") as view:
        rows = org_events.page(view, query)
        topics = org_events.topics(view, org.id)
        chart = _chart(view, org.id)
    return page(
        "log.html",
        org=org,
        events=_with_payloads(rows),
        per_page=PER_PAGE,
        topics=topics,
        topic=topic,
        chart=chart,
    )


@bp.get("/<org_slug>/log/streams/<stream>/")
@context.requires(context.ORG_WRITE)
def stream(org_slug: str, stream: str) -> str:
    org = organization(org_slug)
    consistent(VIEWS)
    query = EventQuery(
        org.id,
        stream=_stream(stream),
        before=parse_position(request.args.get("before"), "before"),
        limit=PER_PAGE,
    )
    with context.services().engine.read("org_events") as view:
        rows = org_events.page(view, query)
    if not rows and query.before is None:  # not this organization's (or no such stream)
        raise ApiError(404, {"detail": context.NOT_FOUND})
    return page("stream.html", org=org, stream=query.stream, events=_with_payloads(rows), per_page=PER_PAGE)


@bp.get("/<org_slug>/log/projects/<project_slug>/")
@context.requires(context.ORG_WRITE)
def project(org_slug: str, project_slug: str) -> str:
    org = organization(org_slug)
    consistent(VIEWS)
    engine = context.services().engine
    with engine.read("directory") as view:
        found = find_project(view, org.id, project_slug)
    if found is None:
        raise ApiError(404, {"detail": context.NOT_FOUND})
    with engine.read("org_events") as view:
        history = org_events.project_history(view, org.id, found.id, str(streams.organization(org.id)))
    head = history[-1].position if history else 0
    at = parse_position(request.args.get("at"), "at") or head
    since = parse_position(request.args.get("from"), "from")
    store = context.services().store
    state = as_of.project_at(store, history, found.id, at)
    changes = as_of.diff(as_of.project_at(store, history, found.id, since), state) if since else None
    return page(
        "project.html", org=org, project=found, history=history, state=state, since=since, diff=changes
    )


def _with_payloads(rows: list[LoggedEvent]) -> list[tuple[LoggedEvent, dict[str, Any]]]:
    by_position: dict[int | None, Recorded] = {
        r.position: r for r in as_of.with_positions(context.services().store, rows)
    }
    return [(row, _payload(by_position.get(row.position))) for row in rows]


def _payload(rec: Recorded | None) -> dict[str, Any]:
    if rec is None:
        return {}
    return {k: ("(redacted)" if k in REDACTED else v) for k, v in to_payload(rec.event).items()}


def _chart(view: Any, organization_id: int) -> dict[str, Any]:
    """Events per minute by type over the last hour, as the chart and its table read them."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    minutes = [(now - timedelta(minutes=n)).isoformat()[:16] for n in range(CHART_MINUTES - 1, -1, -1)]
    counts = org_events.per_minute(view, organization_id, minutes[0])
    series: dict[str, list[int]] = {}
    for minute, topic, n in counts:
        if minute in minutes:
            series.setdefault(topic, [0] * CHART_MINUTES)[minutes.index(minute)] = n
    return {"minutes": [m[11:] for m in minutes], "series": series, "rows": counts}


def _stream(raw: str) -> str:
    try:
        return str(UUID(raw))
    except ValueError:
        raise ApiError(404, {"detail": context.NOT_FOUND}) from None
