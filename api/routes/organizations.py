"""``/organizations/{org}/``: details (GET, PUT) and the organization's projects (GET, POST)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from flask import Response, request
from flask_smorest import Blueprint

from api import context
from api.commanding import execute, execute_new
from api.consistency import consistent, with_position
from api.context import NO_PERMISSION, ORG_ADMIN, ORG_READ, ORG_WRITE, PROJECT_CREATE, requires
from api.errors import ApiError, detail
from api.openapi import DETAIL_OR_FIELDS, operation
from api.organization_render import CUSTOM_DYNAMIC_SAMPLING, organization_details
from api.organization_schemas import (
    CODING_AGENT_ALIASES,
    OrganizationDetails,
    OrganizationSchema,
    OwnerOrganizationSchema,
)
from api.project_render import project_summary
from api.project_schemas import ProjectCreateSchema, ProjectSummary, platform_error
from api.response_fields import STORED_OPTIONS
from api.schemas import load_fields, load_with_errors
from api.team_render import organization_teams
from commands.org_options import FLAG_FIELDS, OPTIONS_BY_FIELD
from commands.organization_removal import RemoveOrganization
from commands.organization_settings import OrganizationSettings, UpdateOrganization
from commands.organizations import CreateProject, OrganizationState, organization_slug_errors
from infra import draws
from projections import organization_options
from projections.directory import OrganizationRow, find_organization, list_projects

bp = Blueprint("organizations", __name__)
VIEWS = ["organization_options"]
SCHEMA, OWNER_SCHEMA, CREATE_PROJECT = OrganizationSchema(), OwnerOrganizationSchema(), ProjectCreateSchema()

ERR_NO_2FA = "Cannot require two-factor authentication without personal two-factor enabled."
ERR_PLAN_REQUIRED = "A paid plan is required to enable this feature."
ERR_NO_GITHUB = "Codecov access can only be enabled if the organization has a GitHub integration."
ERR_NO_SAMPLING = "Organization does not have the custom dynamic sample rate feature enabled."
ERR_NO_TRUSTED_ONLY = "Organization does not have the ingest through trusted relays only feature enabled."
ERR_MEMBER_PROJECTS = "Your organization has disabled this feature for members."
STAFF_ONLY = {
    "enabledConsolePlatforms": "Only staff members can toggle console platforms.",
    "consoleSdkInviteQuota": "Only staff members can change console SDK invite quota limit.",
}
REPLAY_ACCESS_FIELDS = {"hasGranularReplayPermissions", "replayAccessMembers"}
SEER_CODING_LOCKED = "organizations:seer-disable-coding-setting"
TRUSTED_ONLY_FEATURE = "organizations:ingest-through-trusted-relays-only"
CODECOV_FEATURE = "organizations:codecov-integration"


def _projects(organization_id: int) -> list[dict[str, Any]]:
    with context.services().engine.read("directory") as view:
        rows = list_projects(view, organization_id)
    return [
        project_summary(p.id, p.slug, p.name, p.platform, p.date_created)
        for p in rows
        if p.status == "active"
    ]


SUMMARY, DETAILS, FULL = "summary", "details", "full"


def _render(org: OrganizationRow, settings: OrganizationSettings, level: str = FULL) -> dict[str, Any]:
    """Sentry's organization serializers: the summary (``OrganizationSerializer``), the
    details, or the details with projects and teams (what PUT and DELETE answer)."""
    svc = context.services()
    detailed = level == FULL
    body = organization_details(
        organization_id=org.id,
        slug=settings.slug,
        name=settings.name,
        date_created=org.date_created,
        options=settings.options,
        flags=settings.flags,
        default_role=settings.default_role,
        features=svc.settings.features,
        scopes=context.principal().scopes,
        projects=_projects(org.id) if detailed else [],
        url_prefix=svc.settings.url_prefix,
        status=settings.status,
        detailed=level != SUMMARY,
    )
    if request.args.get("include_feature_flags", "0") in ("0", "", "false"):
        body.pop("features")  # Sentry serializes features only when asked (its frontend asks)
    if level == DETAILS:
        return {k: v for k, v in body.items() if k not in ("projects", "teams")}
    return {**body, "teams": organization_teams(org.id)} if detailed else body


def _stored_settings(org: OrganizationRow) -> OrganizationSettings:
    with context.services().engine.read("organization_options") as view:
        options = organization_options.options(view, org.id)
        attributes = organization_options.attributes(view, org.id)
    role = attributes.pop("default_role", "member")
    status = attributes.pop("status", "active")
    return OrganizationSettings(org.id, org.slug, org.name, options, attributes, role, status)


@bp.get("/organizations/<org_slug>/")
@bp.response(200, OrganizationDetails)
@operation(
    "An organization's details",
    query=[
        {
            "in": "query",
            "name": "detailed",
            "schema": {"type": "string"},
            "description": "0: no teams or projects (a token without org:read gets the summary)",
        }
    ],
    reads=True,
)
@requires(ORG_READ)
def get_organization(org_slug: str) -> Response:
    consistent(VIEWS)
    org = context.organization(org_slug)
    # Sentry: without org:read the summary; with it the details, with projects and teams
    # unless ?detailed=0
    level = SUMMARY if "org:read" not in context.principal().scopes else DETAILS
    if level == DETAILS and request.args.get("detailed", "1") != "0":
        level = FULL
    return with_position(_render(org, _stored_settings(org), level), ["directory", *VIEWS])


@bp.delete("/organizations/<org_slug>/")
@bp.response(202, OrganizationDetails)
@operation(
    "Schedule the organization's deletion (pending deletion until restored with cancelDeletion)",
    reads=True,
    writes=True,
)
@requires(ORG_ADMIN)
def remove_organization(org_slug: str) -> Response:
    consistent(VIEWS)
    org = context.organization(org_slug)
    settings = _stored_settings(org)

    def render(state: OrganizationState) -> dict[str, Any]:
        return _render(org, dataclasses.replace(settings, status=state.status))

    return execute(RemoveOrganization(org.id), render, status=202)


def _context_errors(body: dict[str, Any], org: OrganizationRow) -> dict[str, list[str]]:
    """The serializer's ``validate_<field>`` rules that depend on the request or other rows."""
    features = context.services().settings.features
    errors: dict[str, list[str]] = {}
    if "slug" in body:
        with context.services().engine.read("directory") as view:

            def taken(slug: str) -> bool:
                other = find_organization(view, slug)
                return other is not None and other.id != org.id

            slug_errors = organization_slug_errors(body["slug"], taken)
        if slug_errors:
            errors["slug"] = slug_errors
    if CUSTOM_DYNAMIC_SAMPLING not in features:
        errors.update({f: [ERR_NO_SAMPLING] for f in ("targetSampleRate", "samplingMode") if f in body})
    if "ingestThroughTrustedRelaysOnly" in body and TRUSTED_ONLY_FEATURE not in features:
        errors["ingestThroughTrustedRelaysOnly"] = [ERR_NO_TRUSTED_ONLY]
    errors.update({f: [message] for f, message in STAFF_ONLY.items() if f in body})  # no staff here
    if body.get("require2FA") is True:  # a token has no personal two-factor
        errors["require2FA"] = [ERR_NO_2FA]
    return errors


def _command(org: OrganizationRow, body: dict[str, Any], owner: bool) -> UpdateOrganization:
    if body.get("defaultCodingAgent"):
        agent = body["defaultCodingAgent"]
        body["defaultCodingAgent"] = CODING_AGENT_ALIASES.get(agent, agent)
    flags = tuple(
        (flag, not body[f] if negated else body[f]) for f, (flag, negated) in FLAG_FIELDS.items() if f in body
    )
    relays = body.get("trustedRelays")
    return UpdateOrganization(
        organization_id=org.id,
        values=tuple((f, body[f]) for f in OPTIONS_BY_FIELD if f in body),
        trusted_relays=None if relays is None else tuple(relays),
        flags=flags,
        name=body.get("name"),
        slug=body.get("slug", "").strip() or None,
        default_role=body.get("defaultRole") if owner else None,
        dynamic_sampling=CUSTOM_DYNAMIC_SAMPLING in context.services().settings.features,
        cancel_deletion=owner and bool(body.get("cancelDeletion")),
        granular_replay=body.get("hasGranularReplayPermissions") if owner else None,
    )


@bp.put("/organizations/<org_slug>/")
@bp.response(200, OrganizationDetails)
@operation(
    "Update an organization's settings",
    body=OwnerOrganizationSchema,
    reads=True,
    writes=True,
    bad_request=DETAIL_OR_FIELDS,
    description="Tokens with `org:admin` may also set `defaultRole` and `cancelDeletion` "
    f"(the other fields are those of `{OrganizationSchema.__name__}`).",
)
@requires(ORG_WRITE)
def update_organization(org_slug: str) -> Response:
    consistent([])
    org = context.organization(org_slug)
    raw = context.json_body()
    if isinstance(raw, dict) and raw.get("codecovAccess"):  # checked first, on the raw value, as Sentry does
        if CODECOV_FEATURE not in context.services().settings.features:
            raise detail(403, ERR_PLAN_REQUIRED)
        raise ApiError(400, {"codecovAccess": [ERR_NO_GITHUB]})
    owner = "org:admin" in context.principal().scopes
    if not owner and isinstance(raw, dict) and REPLAY_ACCESS_FIELDS & raw.keys():
        raise detail(403, NO_PERMISSION)  # Sentry: replay access needs org:admin
    body, errors = load_with_errors(OWNER_SCHEMA if owner else SCHEMA, raw)
    if SEER_CODING_LOCKED in context.services().settings.features:
        body.pop("enableSeerCoding", None)  # the feature keeps the setting as it is
    if body.get("replayAccessMembers"):  # members are users; tokens have none to name
        ids = sorted(body["replayAccessMembers"])
        errors["replayAccessMembers"] = [f"Invalid user IDs (not members of this organization): {ids}"]
    errors = {**_context_errors({k: v for k, v in body.items() if k not in errors}, org), **errors}
    if errors:
        raise ApiError(400, errors)
    return execute(_command(org, body, owner), lambda settings: _render(org, settings))


@bp.get("/organizations/<org_slug>/projects/")
@bp.response(200, ProjectSummary(many=True))
@operation("The organization's projects", reads=True)
@requires(ORG_READ)
def list_organization_projects(org_slug: str) -> Response:
    consistent([])
    org = context.organization(org_slug)
    return with_position(_projects(org.id), ["directory"])


def _create_project_checks(org: OrganizationRow, body: dict[str, Any]) -> None:
    settings = _stored_settings(org)
    scopes = set(context.principal().scopes)
    if settings.flags.get("disable_member_project_creation") and not scopes & {"org:write", "org:admin"}:
        raise detail(403, ERR_MEMBER_PROJECTS)
    error = platform_error(body.get("platform"), settings.options)
    if error:
        raise ApiError(400, {"platform": [error]})


@bp.post("/organizations/<org_slug>/projects/")
@bp.response(201, ProjectSummary)
@operation(
    "Create a project (with a default client key)",
    body=ProjectCreateSchema,
    reads=True,
    writes=True,
    bad_request=DETAIL_OR_FIELDS,
)
@requires(PROJECT_CREATE)
def create_project(org_slug: str) -> Response:
    """eventry's organization-level form of ``POST /teams/{org}/{team}/projects/`` (a project of
    no team)."""
    org = context.organization(org_slug)
    make = create_project_command(org)

    def render(result: dict[str, Any]) -> dict[str, Any]:
        return project_summary(
            result["id"], result["slug"], result["name"], result["platform"], result["date_created"]
        )

    return execute_new(make, "project_snowflake_key", render)


def create_project_command(org: OrganizationRow) -> Callable[[int], CreateProject]:
    """The request's new project, checked as Sentry's project creation checks it, as a command
    for the id the dispatcher draws (the team route shares it)."""
    consistent(VIEWS)
    body = load_fields(CREATE_PROJECT, context.json_body())
    _create_project_checks(org, body)
    svc = context.services()
    suffixes, fallback = draws.slug_candidates()

    def make(project_id: int) -> CreateProject:
        key = draws.new_key(svc.snowflake("project_key_snowflake_key"))
        return CreateProject(
            org.id,
            project_id,
            body["name"],
            body.get("platform") or None,
            suffixes,
            fallback,
            slug=body.get("slug") or None,
            default_key=key,
        )

    return make


@bp.get("/organizations/<org_slug>/options/")
@bp.response(200, STORED_OPTIONS)
@operation("The organization's options as stored", reads=True)
@requires(ORG_READ)
def get_organization_options(org_slug: str) -> Response:
    """The organization's options as stored (eventry's counterpart of the project options read)."""
    consistent(VIEWS)
    org = context.organization(org_slug)
    with context.services().engine.read("organization_options") as view:
        body = organization_options.options(view, org.id)
    return with_position(body, VIEWS)
