"""``GET /organizations/{org}/audit-logs/``: newest first, filtered, cursor-paginated."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Response, request
from flask_smorest import Blueprint

from api import context
from api.audit_names import SENTRY_API_NAMES
from api.consistency import consistent, with_position
from api.errors import ApiError, detail
from api.openapi import DETAIL_OR_FIELDS, operation
from api.pagination import INVALID_CURSOR, link_header, parse_cursor
from api.periods import parse_stats_period
from api.response_fields import Body, Int, ListOf, Map, Null, Obj, Str, Time, strings
from api.schemas import AuditQuerySchema, load_fields
from projections import audit_log

bp = Blueprint("audit", __name__)
SCHEMA = AuditQuerySchema()
VIEWS = ["audit_log"]
MAX_STATS_PERIOD = timedelta(days=90)


class AuditActor(Body):
    """``{"id", "name", "type"}`` for a token or relay; only ``name`` for the command line."""

    id = Str(optional=True)
    name = Str(null=True)
    type = Str(optional=True)


class AuditEntry(Body):
    id = Str()
    actor = Obj(AuditActor)
    event = Str()
    ipAddress = Str(null=True)
    note = Str()
    targetObject = Int(null=True)
    targetUser = Null()
    data = Map()
    dateCreated = Time()


class AuditLog(Body):
    rows = ListOf(AuditEntry)
    options = ListOf(strings())


@bp.get("/organizations/<org_slug>/audit-logs/")
@bp.response(200, AuditLog)
@operation(
    "The organization's audit log, newest first",
    query=AuditQuerySchema,
    reads=True,
    paginated=True,
    bad_request=DETAIL_OR_FIELDS,
)
@context.requires(context.ORG_WRITE)
def audit_logs(org_slug: str) -> Response:
    consistent(VIEWS)
    org = context.organization(org_slug, context.ORG_WRITE)
    found = entries(org.id, request.args.to_dict())
    response = with_position({"rows": found.rows, "options": list(SENTRY_API_NAMES)}, VIEWS)
    response.headers["Link"] = _link(found.rows, found.has_newer, found.has_older)
    return response


@dataclass(frozen=True)
class AuditPage:
    rows: list[dict[str, Any]]  # newest first
    has_newer: bool
    has_older: bool


def entries(organization_id: int, raw_args: dict[str, str]) -> AuditPage:
    """One page of the audit log for the query arguments of this route (400 for invalid
    ones): the operator console pages through the same query."""
    args = load_fields(SCHEMA, raw_args)
    cursor_id, backwards = _cursor(args["cursor"])
    start, end = _date_range(args)
    query = audit_log.AuditQuery(
        organization_id=organization_id,
        api_name=args["event"],
        actor_id=args["actor"],
        since=_stored_time(start),
        until=_stored_time(end),
        before_id=None if backwards else cursor_id,
        after_id=cursor_id if backwards else None,
        limit=args["per_page"] + 1,
    )
    with context.services().engine.read("audit_log") as view:
        rows = audit_log.query(view, query) if _known(args["event"]) else []
    page, more = rows[: args["per_page"]], len(rows) > args["per_page"]
    if backwards:
        page.reverse()
    has_newer = more if backwards else cursor_id is not None
    has_older = cursor_id is not None if backwards else more
    return AuditPage(page, has_newer, has_older)


def _date_range(args: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
    """Sentry's ``get_date_range_from_stats_period(optional=True)``: ``statsPeriod`` (ending
    now) wins over ``start`` and ``end``, which go together; neither: no bounds."""
    if args["statsPeriod"] is not None:
        period = parse_stats_period(args["statsPeriod"])
        if period is None or not timedelta(seconds=1) <= period <= MAX_STATS_PERIOD:
            raise detail(400, "Invalid statsPeriod")
        now = datetime.now(UTC)
        return now - period, now
    start, end = args["start"], args["end"]
    if start is None and end is None:
        return None, None
    if start is None or end is None:
        raise detail(400, "start and end are both required")
    if start >= end:
        raise detail(400, "start must be before end")
    return start, end


def _stored_time(moment: datetime | None) -> str | None:
    """As the view stores times (``isoformat`` in UTC), so that text order is time order."""
    return None if moment is None else moment.astimezone(UTC).isoformat(timespec="microseconds")


def _known(api_name: str | None) -> bool:
    return api_name is None or api_name in audit_log.AUDIT_EVENTS


def _cursor(raw: str | None) -> tuple[int | None, bool]:
    """Sentry-shaped cursors ``<id>:<offset>:<is_prev>``: older than ``id``, or newer when
    ``is_prev`` is 1."""
    if not raw:
        return None, False
    cursor = parse_cursor(raw)
    if min(cursor) < 0:
        raise ApiError(400, {"detail": INVALID_CURSOR})
    return cursor[0], cursor[2] == 1


def _link(page: list[dict[str, object]], has_newer: bool, has_older: bool) -> str:
    previous = f"{page[0]['id']}:0:1" if page else "0:0:1"
    following = f"{page[-1]['id']}:0:0" if page else "0:0:0"
    return link_header((previous, "previous", has_newer), (following, "next", has_older))
