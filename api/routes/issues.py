"""Issues (groups), as much as resolving them from commits needs: create one (an eventry
addition: in Sentry events create them), read its status, inbox, activity and history."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint
from marshmallow import EXCLUDE, Schema

from api import context, drf
from api.commanding import execute_new
from api.consistency import consistent, with_position
from api.errors import detail
from api.openapi import DETAIL_OR_FIELDS, operation
from api.response_fields import Body, Int, ListOf, Map, Null, Obj, Str
from api.schemas import load_fields
from commands.groupreference import qualified_short_id
from commands.groups import CreateGroup
from projections import groups as queries
from projections.directory import OrganizationRow, list_projects, numeric_id

bp = Blueprint("issues", __name__)
ISSUE_READ = ("event:read", "event:write", "event:admin", "project:read", "project:write", "project:admin")
ISSUE_WRITE = ("event:write", "event:admin", "project:write", "project:admin")
VIEWS = ["groups"]
GROUP_ID_KEY = "group_snowflake_key"


class IssueSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    title = drf.String(required=True, max_length=255)
    culprit = drf.String(max_length=200, allow_none=True, allow_blank=True)
    firstRelease = drf.String(max_length=250, allow_none=True, allow_blank=True, trim=False)


class IssueProject(Body):
    id = Str()
    slug = Str()
    name = Str()


class IssueCreated(Body):
    id = Str()
    shortId = Str()
    title = Str()
    status = Str(enum=["unresolved"])
    project = Obj(IssueProject)


class StatusDetails(Body):
    inRelease = Str(optional=True)


class Inbox(Body):
    reason = Int()
    reason_details = Null()
    date_added = Str()


class Issue(Body):
    id = Str()
    shortId = Str()
    title = Str()
    culprit = Str(null=True)
    status = Str()
    statusDetails = Obj(StatusDetails)
    inbox = Obj(Inbox, null=True)
    firstSeen = Str()
    project = Obj(IssueProject)


class Activity(Body):
    id = Str()
    type = Str()
    data = Map()
    dateCreated = Str()


class IssueActivity(Body):
    activity = ListOf(Activity)


class HistoryRow(Body):
    id = Str()
    status = Str()
    statusId = Int()
    release = Str(null=True)
    dateAdded = Str()


@bp.post("/projects/<org_slug>/<project_slug>/issues/")
@bp.response(201, IssueCreated)
@operation(
    "Create an issue (an eventry addition: in Sentry events create them)",
    body=IssueSchema,
    writes=True,
    bad_request=DETAIL_OR_FIELDS,
)
@context.requires(ISSUE_WRITE)
def create_issue(org_slug: str, project_slug: str) -> Response:
    org, project = context.project(org_slug, project_slug)
    body = load_fields(IssueSchema(), context.json_body())

    def render(result: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": str(result["id"]),
            "shortId": qualified_short_id(project.slug, result["short_id"]),
            "title": result["title"],
            "status": "unresolved",
            "project": {"id": str(project.id), "slug": project.slug, "name": project.name},
        }

    return execute_new(
        lambda group_id: CreateGroup(
            org.id,
            project.id,
            group_id,
            body["title"],
            body.get("culprit") or None,
            body.get("firstRelease") or None,
        ),
        GROUP_ID_KEY,
        render,
    )


def _group(org: OrganizationRow, issue_id: str) -> dict[str, Any]:
    consistent(VIEWS)
    group, number = None, numeric_id(issue_id)
    if number is not None:
        with context.services().engine.read("groups") as view:
            group = queries.find_group(view, org.id, number)
    if group is None:
        raise detail(404, context.NOT_FOUND)
    return group


@bp.get("/organizations/<org_slug>/issues/<issue_id>/")
@bp.response(200, Issue)
@operation("An issue's status", reads=True)
@context.requires(ISSUE_READ)
def get_issue(org_slug: str, issue_id: str) -> Response:
    org = context.organization(org_slug)
    group = _group(org, issue_id)
    with context.services().engine.read("directory") as view:
        project = next(p for p in list_projects(view, org.id) if p.id == group["project_id"])
    resolved_in = group["resolution"]
    body = {
        "id": str(group["id"]),
        "shortId": qualified_short_id(project.slug, group["short_id"]),
        "title": group["title"],
        "culprit": group["culprit"],
        "status": group["status"],
        "statusDetails": {"inRelease": resolved_in} if resolved_in else {},
        "inbox": group["inbox"],
        "firstSeen": group["first_seen"],
        "project": {"id": str(project.id), "slug": project.slug, "name": project.name},
    }
    return with_position(body, ["directory", *VIEWS])


@bp.get("/organizations/<org_slug>/issues/<issue_id>/activities/")
@bp.response(200, IssueActivity)
@operation("An issue's activity", reads=True)
@context.requires(ISSUE_READ)
def issue_activity(org_slug: str, issue_id: str) -> Response:
    org = context.organization(org_slug)
    group = _group(org, issue_id)
    with context.services().engine.read("groups") as view:
        rows = queries.activity(view, group["id"])
    return with_position({"activity": rows}, VIEWS)


@bp.get("/organizations/<org_slug>/issues/<issue_id>/history/")
@bp.response(200, HistoryRow(many=True))
@operation("An issue's status history (an eventry addition)", reads=True)
@context.requires(ISSUE_READ)
def issue_history(org_slug: str, issue_id: str) -> Response:
    """Group history rows (an eventry addition: Sentry keeps them but has no such route)."""
    org = context.organization(org_slug)
    group = _group(org, issue_id)
    with context.services().engine.read("groups") as view:
        rows = queries.history(view, group["id"])
    return with_position(rows, VIEWS)
