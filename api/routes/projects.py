"""``/projects/{org}/{project}/``: details (GET, PUT, DELETE) and options (GET, now or at a
past log position)."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask_smorest import Blueprint

from api import context
from api.commanding import execute
from api.consistency import consistent, parse_position, with_position
from api.context import NO_PERMISSION, PROJECT_ADMIN, PROJECT_READ, PROJECT_WRITE, requires
from api.errors import ApiError
from api.openapi import DETAIL_OR_FIELDS, operation
from api.project_render import project_details, project_summary
from api.project_schemas import ProjectDetails, ProjectUpdateSchema, feature_errors
from api.response_fields import STORED_OPTIONS
from api.schemas import load_with_errors
from commands.project_settings import NOT_SETTABLE, DeleteProject, UpdateProject
from commands.projects import ProjectState
from commands.slugs import RESERVED_PROJECT_SLUGS
from events.option_registry import PROJECT_SETTINGS
from infra import draws
from projections import project_options, teams
from projections.directory import OrganizationRow, ProjectRow, bookmarked, find_project

bp = Blueprint("projects", __name__)
UPDATE = ProjectUpdateSchema()
MEMBER_FIELDS = ("isBookmarked",)
VIEWS = ["project_options"]
AT_POSITION = [
    {
        "in": "query",
        "name": "at_position",
        "required": False,
        "description": "The options as they were right after this log position.",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    }
]


@bp.get("/projects/<org_slug>/<project_slug>/options/")
@bp.response(200, STORED_OPTIONS)
@operation("The project's options, now or at a past log position", query=AT_POSITION, reads=True)
@requires(PROJECT_READ)
def get_options(org_slug: str, project_slug: str) -> Response:
    consistent(VIEWS)
    _, project = context.project(org_slug, project_slug)
    at = parse_position(request.args.get("at_position"), "at_position")
    context.wait_until(at, VIEWS, "at_position")
    with context.services().engine.read("project_options") as view:
        if at is None:
            body = project_options.options(view, project.id)
        else:
            body = project_options.options_at(view, project.id, at)
        body.update(project_options.revision(view, project.id, at))
    return with_position(dict(sorted(body.items())), VIEWS)


@bp.get("/projects/<org_slug>/<project_slug>/")
@bp.response(200, ProjectDetails)
@operation("A project's details", reads=True)
@requires(PROJECT_READ)
def get_project(org_slug: str, project_slug: str) -> Response:
    consistent(VIEWS)
    org, project = context.project(org_slug, project_slug)
    with context.services().engine.read("project_options") as view:
        options = project_options.options(view, project.id)
    summary = project_summary(project.id, project.slug, project.name, project.platform, project.date_created)
    body = {**project_details(summary, org, options), **project_teams(project.id)}
    body["isBookmarked"] = project.id in starred([project.id])
    if "organization" in request.args.getlist("collapse"):  # Sentry's DetailedProjectSerializer
        body["organization"] = {"id": str(org.id), "slug": org.slug}
    return with_position(body, ["directory", *VIEWS, "teams"])


def starred(project_ids: list[int]) -> set[int]:
    """Which of these projects the caller has bookmarked (its own writes included)."""
    with context.services().engine.read("directory") as view:
        return bookmarked(view, context.principal().token_id, project_ids)


def project_teams(project_id: int) -> dict[str, Any]:
    """``team`` (the first, by slug) and ``teams`` of Sentry's project details, as the caller
    last wrote them."""
    consistent(["teams"])
    with context.services().engine.read("teams") as view:
        rows = teams.project_teams(view, [project_id])[project_id]
    refs = [{"id": str(t.id), "slug": t.slug, "name": t.name} for t in rows]
    return {"team": refs[0] if refs else None, "teams": refs}


def _member_fields(raw: Any, body: dict[str, Any], errors: dict[str, Any]) -> dict[str, Any]:
    """Sentry's ``ProjectMemberSerializer`` for a token with only ``project:read``: it may star
    the project; asking for any other field with a value is a 403."""
    if "isBookmarked" in errors:
        raise ApiError(400, {"isBookmarked": errors["isBookmarked"]})
    if isinstance(raw, dict) and any(raw.get(k) for k in UPDATE.fields if k not in MEMBER_FIELDS):
        raise ApiError(403, {"detail": NO_PERMISSION})
    return {k: v for k, v in body.items() if k in MEMBER_FIELDS}


def _slug_errors(org: OrganizationRow, project: ProjectRow, slug: str) -> list[str]:
    """``ProjectAdminSerializer.validate_slug`` (the decider checks again, race-free)."""
    if slug in RESERVED_PROJECT_SLUGS:
        return [f'The slug "{slug}" is reserved and not allowed.']
    with context.services().engine.read("directory") as view:
        other = find_project(view, org.id, slug)
    if other is not None and other.id != project.id and other.slug == slug:
        return [f"Another project ({other.name}) is already using that slug"]
    return []


@bp.put("/projects/<org_slug>/<project_slug>/")
@bp.response(200, ProjectDetails)
@operation(
    "Update a project's name, slug, platform and options",
    body=ProjectUpdateSchema,
    reads=True,
    writes=True,
    bad_request=DETAIL_OR_FIELDS,
)
@requires(PROJECT_READ)  # Sentry's RelaxedProjectPermission: what may change depends on scopes
def update_project(org_slug: str, project_slug: str) -> Response:
    consistent([])
    org, project = context.project(org_slug, project_slug)
    raw = context.json_body()
    body, errors = load_with_errors(UPDATE, raw)
    who = context.principal()
    if not set(who.scopes) & set(PROJECT_WRITE):
        body = _member_fields(raw, body, errors)
        errors = {}
    slug_errors = _slug_errors(org, project, body["slug"]) if body.get("slug") else []
    if slug_errors:
        errors["slug"] = slug_errors
    if errors:
        raise ApiError(400, errors)
    gated = feature_errors(body.get("options") or {}, context.services().settings.features)
    if gated:
        raise ApiError(400, {"detail": gated})
    bookmark = body.get("isBookmarked")
    command = UpdateProject(
        project.id,
        org.id,
        name=body.get("name"),
        slug=body.get("slug"),
        platform=body.get("platform") or None,
        options=tuple((body.get("options") or {}).items()),
        settings=tuple((k, v) for k, v in body.items() if k in PROJECT_SETTINGS or k in NOT_SETTABLE),
        bookmark=None if bookmark is None else (who.token_id, bookmark),
    )

    def render(after: ProjectState) -> dict[str, Any]:
        summary = project_summary(project.id, after.slug, after.name, after.platform, project.date_created)
        details = project_details(summary, org, after.option_values())
        details["isBookmarked"] = who.token_id in after.bookmarked_by
        return {**details, **project_teams(project.id)}

    return execute(command, render)


@bp.delete("/projects/<org_slug>/<project_slug>/")
@bp.response(204)
@operation(
    "Delete a project (its slug is free again, its keys are no longer served)", reads=True, writes=True
)
@requires(PROJECT_ADMIN)
def delete_project(org_slug: str, project_slug: str) -> Response:
    """204; the project is pending deletion, its slug is free, its keys are no longer served."""
    consistent([])
    org, project = context.project(org_slug, project_slug)
    return execute(DeleteProject(project.id, org.id, draws.hex_id()), status=204)
