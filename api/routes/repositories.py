"""``/organizations/{org}/repos/``: the repositories sentry-cli reads before ``set-commits``
(``id``, ``name``, ``provider{id,name}``, ``status``, ``dateCreated`` required), and adding
one served by the local git provider."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from flask import Blueprint, Response, request

from api import context
from api.commanding import execute
from api.errors import ApiError, detail
from api.release_render import render_repository
from api.release_schemas import RepositorySchema
from api.routes.releases import caught_up, view_page
from api.schemas import load_fields
from commands.releases import AddRepository
from infra.releases import REPOSITORY_ID_KEY
from projections import release_queries as queries

bp = Blueprint("repositories", __name__)
REPOS_READ = ("org:read", "org:write", "org:admin", "org:integrations", "project:releases")
REPOS_WRITE = ("org:write", "org:admin", "org:integrations")
STATUSES = ("active", "disabled", "hidden", "pending_deletion", "deletion_in_progress")


@bp.get("/organizations/<org_slug>/repos/")
@context.requires(REPOS_READ)
def list_repositories(org_slug: str) -> Response:
    org = context.organization(org_slug)
    caught_up()
    status = request.args.get("status", "active") or None
    if status is not None and status not in STATUSES:
        raise detail(400, "Invalid status")
    query = request.args.get("query")
    return view_page(
        lambda view, offset, limit: queries.repositories(view, org.id, status, query, offset, limit),
        render_repository,
    )


def git_path(url: str) -> Path:
    """A local path or ``file://`` URL of a git repository on this machine."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        path = Path(unquote(parsed.path))
    elif not parsed.scheme:
        path = Path(url)
    else:
        raise ApiError(400, {"url": ["Enter a local path or a file:// URL of a git repository."]})
    if not path.is_absolute():
        raise ApiError(400, {"url": ["The path of the repository must be absolute."]})
    return path


@bp.post("/organizations/<org_slug>/repos/")
@context.requires(REPOS_WRITE)
def add_repository(org_slug: str) -> Response:
    org = context.organization(org_slug)
    body = load_fields(RepositorySchema(), context.json_body())
    path = git_path(body["url"])
    command = AddRepository(
        org.id,
        context.services().snowflake(REPOSITORY_ID_KEY),
        body["name"],
        body["provider"],
        path.as_uri(),
        {"path": str(path)},
    )
    return execute(command, lambda repo: render_repository({**repo, "status": "active"}), status=201)
