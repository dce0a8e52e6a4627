"""Project options: read (now or at a past log position) and update."""

from __future__ import annotations

from flask import Blueprint, Response, request

from api import context
from api.commanding import execute
from api.consistency import consistent, parse_position, wait_for, with_position
from api.schemas import ProjectUpdateSchema, load_fields
from commands.projects import UpdateProjectOptions
from projections import project_options

bp = Blueprint("projects", __name__)
UPDATE = ProjectUpdateSchema()
VIEWS = ["project_options"]


@bp.get("/projects/<org_slug>/<project_slug>/options/")
def get_options(org_slug: str, project_slug: str) -> Response:
    consistent(VIEWS)
    _, project = context.project(org_slug, project_slug, context.PROJECT_READ)
    at = parse_position(request.args.get("at_position"), "at_position")
    wait_for(at, VIEWS, "at_position")
    with context.services().engine.read("project_options") as view:
        if at is None:
            body = project_options.options(view, project.id)
        else:
            body = project_options.options_at(view, project.id, at)
    return with_position(body, VIEWS)


@bp.put("/projects/<org_slug>/<project_slug>/")
def update_project(org_slug: str, project_slug: str) -> Response:
    consistent([])
    _, project = context.project(org_slug, project_slug, context.PROJECT_WRITE)
    body = load_fields(UPDATE, context.json_body())
    options = tuple((body.get("options") or {}).items())

    def render(result: dict[str, object]) -> dict[str, object]:
        return {
            "id": str(project.id),
            "slug": project.slug,
            "name": project.name,
            "options": result,
        }

    return execute(UpdateProjectOptions(project.id, options), render)
