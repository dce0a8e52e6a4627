"""Environments (Sentry's ``OrganizationEnvironmentsEndpoint``, ``ProjectEnvironmentsEndpoint``
and ``ProjectEnvironmentDetailsEndpoint``): the organization's and a project's environments by
visibility, one environment of a project, and hiding or showing them. Deploys make them."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from flask import Response, request
from flask_smorest import Blueprint
from marshmallow import EXCLUDE, Schema, validate

from api import context, drf
from api.commanding import execute
from api.consistency import consistent, with_position
from api.context import ORG_READ, PROJECT_READ, PROJECT_WRITE, requires
from api.errors import detail
from api.openapi import FIELDS, operation
from api.release_schemas import PROJECT_PARAMETER
from api.response_fields import Body, Bool, Str
from api.routes.releases import requested_projects
from api.schemas import load_fields
from commands.environments import SetEnvironmentVisibility
from projections import environments as queries
from projections.directory import ProjectRow, list_projects

bp = Blueprint("environments", __name__)
VIEWS = ["environments"]
BULK_LIMIT = 1000  # BulkEnvironmentSerializer's max_length


class Environment(Body):
    """Sentry's ``EnvironmentSerializer``."""

    id = Str()
    name = Str()


class EnvironmentProject(Body):
    """Sentry's ``EnvironmentProjectSerializer``: the attachment's id, the environment's name."""

    id = Str()
    name = Str()
    isHidden = Bool()


class EnvironmentSchema(Schema):
    """``EnvironmentSerializer`` loaded with ``partial=True``."""

    class Meta:
        unknown = EXCLUDE

    isHidden = drf.Boolean()


class BulkEnvironmentSchema(Schema):
    """``BulkEnvironmentSerializer``."""

    class Meta:
        unknown = EXCLUDE

    environmentNames = drf.List(
        drf.String(),
        required=True,
        validate=[
            validate.Length(min=1, error="This list may not be empty."),
            validate.Length(
                max=BULK_LIMIT, error=f"Ensure this field has no more than {BULK_LIMIT} elements."
            ),
        ],
    )
    isHidden = drf.Boolean(required=True)


VISIBILITY = {
    "in": "query",
    "name": "visibility",
    "required": False,
    "schema": {"type": "string", "enum": sorted(queries.VISIBILITY)},
}


def _visibility() -> str:
    """``?visibility=`` (default ``visible``), or Sentry's 400 naming the valid values."""
    visibility = request.args.get("visibility", "visible")
    if visibility not in queries.VISIBILITY:
        valid = repr(sorted(queries.VISIBILITY))
        raise detail(400, f"Invalid value for 'visibility', valid values are: {valid}")
    return visibility


def name_from_path_segment(segment: str) -> str:
    """``Environment.get_name_from_path_segment``: the segment decoded once more (Sentry's
    clients quote a name twice), and ``none`` for the nameless environment."""
    return unquote(segment) if segment != "none" else ""


def _render(row: queries.EnvironmentProjectRow, is_hidden: bool | None = None) -> dict[str, Any]:
    hidden = row.is_hidden if is_hidden is None else is_hidden
    return {"id": str(row.id), "name": row.name, "isHidden": hidden is True}


@bp.get("/organizations/<org_slug>/environments/")
@bp.response(200, Environment(many=True))
@operation(
    "The environments of the organization's projects (of `project` if given), by name",
    query=[VISIBILITY, PROJECT_PARAMETER],
    reads=True,
)
@requires(ORG_READ)
def list_organization_environments(org_slug: str) -> Response:
    org = context.organization(org_slug)
    visibility = _visibility()
    consistent(VIEWS)
    with context.services().engine.read("directory") as view:
        projects = {p.id: p for p in list_projects(view, org.id) if p.status == "active"}
    project_ids = requested_projects(projects) or tuple(projects)
    with context.services().engine.read("environments") as view:
        rows = queries.organization_environments(view, org.id, project_ids, visibility)
    return with_position([{"id": str(i), "name": n} for i, n in rows], VIEWS)


@bp.get("/projects/<org_slug>/<project_slug>/environments/")
@bp.response(200, EnvironmentProject(many=True))
@operation("The project's environments, by name", query=[VISIBILITY], reads=True)
@requires(PROJECT_READ)
def list_project_environments(org_slug: str, project_slug: str) -> Response:
    _, project = context.project(org_slug, project_slug)
    visibility = _visibility()
    consistent(VIEWS)
    with context.services().engine.read("environments") as view:
        rows = queries.project_environments(view, project.id, visibility)
    return with_position([_render(r) for r in rows], VIEWS)


@bp.put("/projects/<org_slug>/<project_slug>/environments/")
@bp.response(200, EnvironmentProject(many=True))
@operation(
    "Hide or show some of the project's environments (names it does not have are left out)",
    body=BulkEnvironmentSchema,
    writes=True,
    bad_request=(FIELDS,),
)
@requires(PROJECT_WRITE)
def update_project_environments(org_slug: str, project_slug: str) -> Response:
    org, project = context.project(org_slug, project_slug)
    body = load_fields(BulkEnvironmentSchema(), context.json_body())
    names = list(dict.fromkeys(body["environmentNames"]))
    rows = _attachments(project, names)
    command = SetEnvironmentVisibility(org.id, project.id, tuple(names), body["isHidden"], bulk=True)
    return execute(command, lambda hidden: [_render(r, hidden[r.name]) for r in rows if r.name in hidden])


def _attachments(
    project: ProjectRow, names: list[str], fresh: bool = True
) -> list[queries.EnvironmentProjectRow]:
    """The project's environments among ``names``; ``fresh`` (a write's): as the whole log has
    them now, since the response shows the ids of rows another caller may just have made."""
    svc = context.services()
    consistent(VIEWS)
    if fresh:
        svc.engine.wait(svc.store.head(), VIEWS, timeout=svc.settings.read_wait_timeout)
    with svc.engine.read("environments") as view:
        return queries.project_environments(view, project.id, "all", names)


def _environment(project: ProjectRow, segment: str, fresh: bool = True) -> queries.EnvironmentProjectRow:
    """The environment a path segment names, or 404 (Sentry's ``ResourceDoesNotExist``)."""
    name = name_from_path_segment(segment)
    found = _attachments(project, [name], fresh) if name else []
    if not found:
        raise detail(404, context.NOT_FOUND)
    return found[0]


@bp.get("/projects/<org_slug>/<project_slug>/environments/<environment>/")
@bp.response(200, EnvironmentProject)
@operation("One of the project's environments (`none` names the nameless one)", reads=True)
@requires(PROJECT_READ)
def get_project_environment(org_slug: str, project_slug: str, environment: str) -> Response:
    _, project = context.project(org_slug, project_slug)
    return with_position(_render(_environment(project, environment, fresh=False)), VIEWS)


@bp.put("/projects/<org_slug>/<project_slug>/environments/<environment>/")
@bp.response(200, EnvironmentProject)
@operation(
    "Hide or show one of the project's environments",
    body=EnvironmentSchema,
    writes=True,
    bad_request=(FIELDS,),
)
@requires(PROJECT_WRITE)
def update_project_environment(org_slug: str, project_slug: str, environment: str) -> Response:
    org, project = context.project(org_slug, project_slug)
    row = _environment(project, environment)
    body = load_fields(EnvironmentSchema(), context.json_body())
    command = SetEnvironmentVisibility(org.id, project.id, (row.name,), body.get("isHidden"))
    return execute(command, lambda hidden: _render(row, hidden[row.name]))
