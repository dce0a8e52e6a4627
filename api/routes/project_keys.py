"""``/projects/{org}/{project}/keys/``: client keys (DSNs). ``{key_id}`` is the public key,
as in Sentry."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask_smorest import Blueprint

from api import context
from api.commanding import execute, execute_new
from api.consistency import consistent, with_position
from api.context import PROJECT_ADMIN, PROJECT_READ, PROJECT_WRITE, requires
from api.errors import detail
from api.openapi import DETAIL_OR_FIELDS, operation
from api.project_render import key_body
from api.project_schemas import KeyCreateSchema, KeyUpdateSchema, ProjectKey
from api.schemas import load_fields
from commands.project_keys import CreateProjectKey, DeleteProjectKey, UpdateProjectKey
from events.project_keys import KEY_ACTIVE, KEY_INACTIVE, ProjectKeyEvent
from infra import draws
from projections.project_keys import KeyRow, find_key, list_keys

bp = Blueprint("project_keys", __name__)
VIEWS = ["project_keys"]
CREATE, UPDATE = KeyCreateSchema(), KeyUpdateSchema()
STATUSES = {"active": KEY_ACTIVE, "inactive": KEY_INACTIVE}
KEY_STATUS = [
    {
        "in": "query",
        "name": "status",
        "required": False,
        "schema": {"type": "string", "enum": ["active", "inactive"]},
    }
]


def _render(key: ProjectKeyEvent) -> dict[str, Any]:
    row = KeyRow(
        key.key_id,
        key.public_key,
        key.secret_key,
        key.project_id,
        key.organization_id,
        key.label,
        key.status,
        key.rate_limit_count,
        key.rate_limit_window,
        key.date_created,
        key.browser_sdk_version,
        key.loader_options,
    )
    return key_body(row, context.services().settings.url_prefix)


@bp.get("/projects/<org_slug>/<project_slug>/keys/")
@bp.response(200, ProjectKey(many=True))
@operation("The project's client keys (DSNs)", query=KEY_STATUS, reads=True)
@requires(PROJECT_READ)
def list_project_keys(org_slug: str, project_slug: str) -> Response:
    consistent(VIEWS)
    _, project = context.project(org_slug, project_slug)
    status = request.args.get("status")
    with context.services().engine.read("project_keys") as view:
        if status and status not in STATUSES:
            rows = []  # Sentry: an unknown status matches nothing
        else:
            rows = list_keys(view, project.id, STATUSES.get(status or ""))
    prefix = context.services().settings.url_prefix
    return with_position([key_body(r, prefix) for r in rows], VIEWS)


@bp.post("/projects/<org_slug>/<project_slug>/keys/")
@bp.response(201, ProjectKey)
@operation("Create a client key", body=KeyCreateSchema, reads=True, writes=True, bad_request=DETAIL_OR_FIELDS)
@requires(PROJECT_WRITE)
def create_project_key(org_slug: str, project_slug: str) -> Response:
    consistent([])
    _, project = context.project(org_slug, project_slug)
    body = load_fields(CREATE, context.json_body())
    count, window = body.get("rateLimit") or (None, None)
    rate_limit = (count, window) if count and window else (None, None)  # both, or none
    label = body.get("name") or draws.key_label()

    def make(key_id: int) -> CreateProjectKey:
        return CreateProjectKey(
            project.id, draws.new_key(key_id, body.get("public"), body.get("secret")), label, rate_limit
        )

    return execute_new(make, "project_key_snowflake_key", _render)


@bp.get("/projects/<org_slug>/<project_slug>/keys/<key_id>/")
@bp.response(200, ProjectKey)
@operation("A client key by its public key", reads=True)
@requires(PROJECT_READ)
def get_project_key(org_slug: str, project_slug: str, key_id: str) -> Response:
    consistent(VIEWS)
    _, project = context.project(org_slug, project_slug)
    with context.services().engine.read("project_keys") as view:
        row = find_key(view, project.id, key_id)
    if row is None:
        raise detail(404, context.NOT_FOUND)
    return with_position(key_body(row, context.services().settings.url_prefix), VIEWS)


@bp.put("/projects/<org_slug>/<project_slug>/keys/<key_id>/")
@bp.response(200, ProjectKey)
@operation(
    "Rename, enable or disable a client key, or set its rate limit",
    body=KeyUpdateSchema,
    reads=True,
    writes=True,
    bad_request=DETAIL_OR_FIELDS,
)
@requires(PROJECT_WRITE)
def update_project_key(org_slug: str, project_slug: str, key_id: str) -> Response:
    consistent(VIEWS)
    _, project = context.project(org_slug, project_slug)
    body = load_fields(UPDATE, context.json_body())
    rate_limit: tuple[int | None, int | None] | None = None  # absent or {}: unchanged
    if "rateLimit" in body and (body["rateLimit"] is None or None in body["rateLimit"]):
        rate_limit = (None, None)
    elif body.get("rateLimit"):
        rate_limit = body["rateLimit"]
    command = UpdateProjectKey(
        project.id,
        key_id,
        body.get("name") or None,
        body.get("isActive"),
        rate_limit,
        body.get("browserSdkVersion") or None,  # absent: the project's default, as Sentry stores it
        body.get("dynamicSdkLoaderOptions") or (),
    )
    return execute(command, _render)


@bp.delete("/projects/<org_slug>/<project_slug>/keys/<key_id>/")
@bp.response(204)
@operation("Delete a client key", reads=True, writes=True)
@requires(PROJECT_ADMIN)
def delete_project_key(org_slug: str, project_slug: str, key_id: str) -> Response:
    consistent(VIEWS)
    _, project = context.project(org_slug, project_slug)
    return execute(DeleteProjectKey(project.id, key_id), status=204)
