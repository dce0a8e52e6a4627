"""``/organizations/{org}/repos/``: the repositories sentry-cli reads before ``set-commits``
(``id``, ``name``, ``provider{id,name}``, ``status``, ``dateCreated`` required), and adding
one served by the local git provider."""

from __future__ import annotations

from pathlib import Path

from flask import Response, request
from flask_smorest import Blueprint

from api import context
from api.commanding import execute
from api.consistency import consistent
from api.errors import ApiError, detail
from api.openapi import DETAIL_OR_FIELDS, operation
from api.release_render import render_repository
from api.release_schemas import REPO_LIST_QUERY, Repository, RepositorySchema
from api.routes.releases import VIEWS, view_page
from api.schemas import load_fields
from commands.releases import AddRepository
from infra.git_provider import ProviderError, repository_dir
from infra.git_roots import OutsideRoots, confine, local_path, roots_for
from infra.releases import REPOSITORY_ID_KEY
from projections import release_queries as queries

bp = Blueprint("repositories", __name__)
REPOS_READ = ("org:read", "org:write", "org:admin", "org:integrations", "project:releases")
REPOS_WRITE = ("org:write", "org:admin", "org:integrations")
STATUSES = ("active", "disabled", "hidden", "pending_deletion", "deletion_in_progress")


@bp.get("/organizations/<org_slug>/repos/")
@bp.response(200, Repository(many=True))
@operation("The organization's repositories", query=REPO_LIST_QUERY, reads=True, paginated=True)
@context.requires(REPOS_READ)
def list_repositories(org_slug: str) -> Response:
    org = context.organization(org_slug)
    consistent(VIEWS)
    status = request.args.get("status", "active") or None
    if status is not None and status not in STATUSES:
        raise detail(400, "Invalid status")
    query = request.args.get("query")
    return view_page(
        lambda view, offset, limit: queries.repositories(view, org.id, status, query, offset, limit),
        render_repository,
    )


def git_location(organization_id: int, url: str) -> tuple[Path, Path]:
    """The repository's resolved path and git directory, both inside the organization's roots.
    A malformed URL is a field error; a location the server refuses or cannot read is the
    validation error of Sentry's plugin repository providers (``validate_config``)."""
    try:
        path = local_path(url)
    except ValueError as exc:
        raise ApiError(400, {"url": [str(exc)]}) from None
    roots = roots_for(context.services().settings, organization_id)
    try:
        return confine(path, roots), repository_dir(path, roots)
    except (OutsideRoots, ProviderError) as exc:
        raise ApiError(400, {"error_type": "validation", "errors": {"__all__": str(exc)}}) from None


@bp.post("/organizations/<org_slug>/repos/")
@bp.response(201, Repository)
@operation(
    "Add a local git repository (an absolute path or file:// URL inside the organization's git roots)",
    body=RepositorySchema,
    writes=True,
    bad_request=DETAIL_OR_FIELDS,
)
@context.requires(REPOS_WRITE)
def add_repository(org_slug: str) -> Response:
    org = context.organization(org_slug)
    body = load_fields(RepositorySchema(), context.json_body())
    path, git_dir = git_location(org.id, body["url"])
    command = AddRepository(
        org.id,
        context.services().snowflake(REPOSITORY_ID_KEY),
        body["name"],
        body["provider"],
        path.as_uri(),
        {"path": str(path)},
        str(git_dir),
    )
    return execute(command, lambda repo: render_repository({**repo, "status": "active"}), status=201)
