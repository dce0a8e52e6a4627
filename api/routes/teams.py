"""Teams: ``/organizations/{org}/teams/`` (GET, POST) and a team's new projects
(``POST /teams/{org}/{team}/projects/``, Sentry's own project creation route)."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask_smorest import Blueprint
from marshmallow import EXCLUDE, Schema, fields

from api import context, drf
from api.commanding import execute_new
from api.consistency import consistent, with_position
from api.context import ORG_READ, PROJECT_CREATE, requires
from api.errors import detail
from api.openapi import DETAIL_OR_FIELDS, operation
from api.pagination import paginate
from api.project_render import project_summary
from api.project_schemas import ProjectCreateSchema, ProjectSummary
from api.response_fields import Body, Bool, Int, ListOf, Obj, Str, Time, strings
from api.routes.organizations import create_project_command
from api.schemas import load_fields
from api.team_render import render_team
from commands.teams import CreateTeam, CreateTeamProject
from infra import draws
from projections import teams as team_view
from projections.directory import OrganizationRow, ProjectRow, list_projects

bp = Blueprint("teams", __name__)
VIEWS = ["teams"]
TEAM_CREATE = ("org:write", "org:admin", "team:write", "team:admin")  # OrganizationTeamsPermission


class TeamCreateSchema(Schema):
    """``TeamPostSerializer``'s fields; their rules (slug pattern, lengths, name or slug) are
    the decider's."""

    class Meta:
        unknown = EXCLUDE

    slug = drf.String(allow_none=True)
    name = drf.String(allow_none=True, allow_blank=True)


class TeamAvatar(Body):
    avatarType = Str(enum=["letter_avatar"])
    avatarUuid = Str(null=True)


class TeamFlags(Body):
    idp_provisioned = fields.Boolean(required=True, data_key="idp:provisioned")


class Team(Body):
    """Sentry's ``TeamSerializer``."""

    id = Str()
    slug = Str()
    name = Str()
    dateCreated = Time()
    isMember = Bool()
    teamRole = Str(null=True)
    flags = Obj(TeamFlags)
    access = ListOf(strings())
    hasAccess = Bool()
    isPending = Bool()
    memberCount = Int()
    avatar = Obj(TeamAvatar)


class TeamWithProjects(Team):
    """``TeamWithProjectsSerializer``: the team and its active projects (left out with
    ``detailed=0``, Sentry's plain ``TeamSerializer``)."""

    projects = ListOf(ProjectSummary, optional=True)
    externalTeams = ListOf(strings(), optional=True)


class TeamSlugConflict(Body):
    """The 409 for a team slug in use: ``detail`` and ``non_field_errors`` (Sentry sends both)."""

    detail = Str()
    non_field_errors = ListOf(strings())


class TeamListQuery(Schema):
    detailed = drf.String()
    query = drf.String()


def _summary(p: ProjectRow) -> dict[str, Any]:
    return project_summary(p.id, p.slug, p.name, p.platform, p.date_created)


def _matches(team: team_view.TeamRow, query: str) -> bool:
    """Sentry's team ``query``: ``slug:a,b`` terms, and free text in the name or slug."""
    for term in query.split():
        key, sep, value = term.partition(":")
        if sep and key == "slug":
            if team.slug not in value.split(","):
                return False
        elif term.lower() not in team.name.lower() and term.lower() not in team.slug:
            return False
    return True


@bp.get("/organizations/<org_slug>/teams/")
@bp.response(200, TeamWithProjects(many=True))
@operation(
    "The organization's teams (with their projects unless `detailed=0`)",
    query=TeamListQuery,
    reads=True,
    paginated=True,
)
@requires(ORG_READ)
def list_teams(org_slug: str) -> Response:
    consistent(VIEWS)
    org = context.organization(org_slug)
    detailed = request.args.get("detailed") != "0"
    query = request.args.get("query", "")
    with context.services().engine.read("teams") as view:
        rows = [t for t in team_view.list_teams(view, org.id) if _matches(t, query)]
        members = team_view.team_projects(view, [t.id for t in rows]) if detailed else {}
    with context.services().engine.read("directory") as view:
        projects = {p.id: p for p in list_projects(view, org.id) if p.status == "active"}

    def render(team: team_view.TeamRow) -> dict[str, Any]:
        body = render_team(team.id, team.slug, team.name, team.date_created)
        if detailed:
            own = [projects[p] for p in members.get(team.id, []) if p in projects]
            body["projects"] = [_summary(p) for p in sorted(own, key=lambda p: p.slug)]
            body["externalTeams"] = []
        return body

    return paginate(
        lambda offset, limit: rows[offset : offset + limit],
        lambda page: with_position([render(t) for t in page], ["directory", *VIEWS]),
    )


@bp.post("/organizations/<org_slug>/teams/")
@bp.response(201, Team)
@bp.alt_response(409, schema=TeamSlugConflict, description="The slug is in use; nothing changed.")
@operation(
    "Create a team (its slug derived from the name when not given)",
    body=TeamCreateSchema,
    reads=True,
    writes=True,
    errors=(409,),
    bad_request=DETAIL_OR_FIELDS,
)
@requires(TEAM_CREATE)
def create_team(org_slug: str) -> Response:
    consistent([])
    org = context.organization(org_slug)
    body = load_fields(TeamCreateSchema(), context.json_body())
    suffixes, fallback = draws.slug_candidates()

    def make(team_id: int) -> CreateTeam:
        return CreateTeam(org.id, team_id, body.get("slug"), body.get("name"), suffixes, fallback)

    def render(result: dict[str, Any]) -> dict[str, Any]:
        return render_team(result["id"], result["slug"], result["name"], result["date_created"])

    return execute_new(make, "team_snowflake_key", render)


def existing_team(org: OrganizationRow, team_slug: str) -> team_view.TeamRow:
    consistent(VIEWS)
    with context.services().engine.read("teams") as view:
        team = team_view.find_team(view, org.id, team_slug.lower())
    if team is None:
        raise detail(404, context.NOT_FOUND)
    return team


@bp.post("/teams/<org_slug>/<team_slug>/projects/")
@bp.response(201, ProjectSummary)
@operation(
    "Create a project of a team (with a default client key)",
    body=ProjectCreateSchema,
    reads=True,
    writes=True,
    errors=(409,),
    bad_request=DETAIL_OR_FIELDS,
)
@requires(PROJECT_CREATE)
def create_team_project(org_slug: str, team_slug: str) -> Response:
    org = context.organization(org_slug)
    team = existing_team(org, team_slug)
    make_project = create_project_command(org)

    def make(project_id: int) -> CreateTeamProject:
        return CreateTeamProject(team.id, make_project(project_id))

    def render(result: dict[str, Any]) -> dict[str, Any]:
        return project_summary(
            result["id"], result["slug"], result["name"], result["platform"], result["date_created"]
        )

    return execute_new(make, "project_snowflake_key", render)
