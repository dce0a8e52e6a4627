"""``GET /organizations/{org}/audit-logs/``: newest first, filtered, cursor-paginated."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, Response, request

from api import context
from api.consistency import consistent, with_position
from api.errors import ApiError
from api.schemas import AuditQuerySchema, load_fields
from projections import audit_log

bp = Blueprint("audit", __name__)
SCHEMA = AuditQuerySchema()
VIEWS = ["audit_log"]


@bp.get("/organizations/<org_slug>/audit-logs/")
@context.requires(context.ORG_WRITE)
def audit_logs(org_slug: str) -> Response:
    consistent(VIEWS)
    org = context.organization(org_slug, context.ORG_WRITE)
    args = load_fields(SCHEMA, request.args.to_dict())
    cursor_id, backwards = _cursor(args["cursor"])
    query = audit_log.AuditQuery(
        organization_id=org.id,
        api_name=args["event"],
        actor_id=args["actor"],
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
    response = with_position({"rows": page, "options": sorted(audit_log.AUDIT_EVENTS)}, VIEWS)
    response.headers["Link"] = _link(page, has_newer, has_older)
    return response


def _known(api_name: str | None) -> bool:
    return api_name is None or api_name in audit_log.AUDIT_EVENTS


def _cursor(raw: str | None) -> tuple[int | None, bool]:
    """Sentry-shaped cursors ``<id>:<offset>:<is_prev>``: older than ``id``, or newer when
    ``is_prev`` is 1."""
    if not raw:
        return None, False
    parts = raw.split(":")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise ApiError(400, {"detail": "Invalid cursor parameter."})
    return int(parts[0]), parts[2] == "1"


def _link(page: list[dict[str, object]], has_newer: bool, has_older: bool) -> str:
    params = request.args.to_dict()
    previous = f"{page[0]['id']}:0:1" if page else "0:0:1"
    following = f"{page[-1]['id']}:0:0" if page else "0:0:0"

    def link(cursor: str, rel: str, results: bool) -> str:
        url = f"{request.base_url}?{urlencode({**params, 'cursor': cursor})}"
        return f'<{url}>; rel="{rel}"; results="{str(results).lower()}"; cursor="{cursor}"'

    return f"{link(previous, 'previous', has_newer)}, {link(following, 'next', has_older)}"
