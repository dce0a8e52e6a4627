"""Sentry's organization auth tokens: ``/organizations/{org}/org-auth-tokens/`` (GET, POST)
and ``.../org-auth-tokens/{token_id}/`` (GET, PUT, DELETE).

These routes see only org auth tokens (``sntrys_``, scope ``org:ci``), as Sentry's do; the
operator's tokens (``eventry tokens``) are listed, revoked and rotated on the command line.
The secret is in the creation's response only: it is never stored, not even in an
idempotency marker, so a replayed creation answers without it.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response
from flask_smorest import Blueprint

from api import context
from api.commanding import execute
from api.consistency import consistent, with_position
from api.errors import detail
from api.openapi import operation
from api.project_render import iso
from api.response_fields import Body, ListOf, Str, Time, strings
from commands.organizations import MAX_TOKEN_NAME, TOKEN_NAME_BLANK, TOKEN_NAME_TOO_LONG, CreateApiToken
from commands.tokens import RenameApiToken, RevokeApiToken
from events.organizations import ORG_TOKEN
from infra import tokens
from projections.directory import numeric_id
from projections.tokens import TokenRow, find_token, list_tokens

bp = Blueprint("org_auth_tokens", __name__)
VIEWS = ["tokens"]
# Sentry's OrgAuthTokenPermission.
TOKEN_READ = ("org:read", "org:write", "org:admin")
TOKEN_DELETE = ("org:write", "org:admin")
ORG_CI = ("org:ci",)  # what every org auth token may do: upload and create releases
NEVER_CACHE = "max-age=0, no-cache, no-store, must-revalidate, private"  # Django's never_cache
NAME_BODY = {
    "type": "object",
    "properties": {"name": {"type": "string", "minLength": 1, "maxLength": MAX_TOKEN_NAME}},
}


class OrgAuthToken(Body):
    """Sentry's ``OrgAuthTokenSerializer``; ``token`` only in the creation's response."""

    id = Str()
    name = Str()
    scopes = ListOf(strings())
    tokenLastCharacters = Str()
    dateCreated = Time()
    dateLastUsed = Time(null=True)
    projectLastUsedId = Str(null=True)
    token = Str(optional=True)


def _render(
    token_id: int, name: str, scopes: list[str], last: str, created: str, used: str | None
) -> dict[str, Any]:
    return {
        "id": str(token_id),
        "name": name,
        "scopes": scopes,
        "tokenLastCharacters": last,
        "dateCreated": iso(created),
        "dateLastUsed": iso(used) if used else None,
        "projectLastUsedId": None,  # eventry records when a token was used, not for which project
    }


def _render_row(row: TokenRow, used: str | None) -> dict[str, Any]:
    return _render(row.id, row.name, list(row.scopes), row.last_characters, row.date_created, used)


def _name(body: Any) -> str:
    """The body's name, checked as Sentry checks it (its messages, in its order)."""
    name = body.get("name") if isinstance(body, dict) else None
    if not name:
        raise detail(400, TOKEN_NAME_BLANK)
    if not isinstance(name, str):
        raise detail(400, "The name must be a string.")
    if len(name) > MAX_TOKEN_NAME:
        raise detail(400, TOKEN_NAME_TOO_LONG)
    return name


def _live_token(organization_id: int, token_id: str) -> TokenRow:
    """An active org auth token of the organization; anything else is Sentry's 404."""
    number = numeric_id(token_id)
    with context.services().engine.read("tokens") as view:
        row = None if number is None else find_token(view, organization_id, number)
    if row is None or row.kind != ORG_TOKEN or row.date_deactivated is not None:
        raise detail(404, context.NOT_FOUND)
    return row


@bp.get("/organizations/<org_slug>/org-auth-tokens/")
@bp.response(200, OrgAuthToken(many=True))
@operation("The organization's active org auth tokens, most recently used first", reads=True)
@context.requires(TOKEN_READ)
def list_org_auth_tokens(org_slug: str) -> Response:
    consistent(VIEWS)
    org = context.organization(org_slug)
    with context.services().engine.read("tokens") as view:
        rows = [r for r in list_tokens(view, org.id, ORG_TOKEN) if r.date_deactivated is None]
    used = context.services().token_usage.last_used(r.id for r in rows)
    # Sentry's order: last used (never used last), then name, then newest first.
    rows.sort(key=lambda r: r.date_created, reverse=True)
    rows.sort(key=lambda r: r.name)
    rows.sort(key=lambda r: used.get(r.id, ""), reverse=True)
    response = with_position([_render_row(r, used.get(r.id)) for r in rows], VIEWS)
    response.headers["Cache-Control"] = NEVER_CACHE
    return response


@bp.post("/organizations/<org_slug>/org-auth-tokens/")
@bp.response(201, OrgAuthToken)
@operation(
    "Create an org auth token (scope org:ci); its secret is in this response only",
    body=NAME_BODY,
    reads=True,
    writes=True,
)
@context.requires(TOKEN_READ)
def create_org_auth_token(org_slug: str) -> Response:
    consistent([])
    org = context.organization(org_slug)
    name = _name(context.json_body())
    secret = tokens.generate_org(org.slug, context.services().settings.url_prefix)
    command = CreateApiToken(org.id, tokens.hash_token(secret), secret[-4:], name, ORG_CI, ORG_TOKEN)

    def render(r: dict[str, Any]) -> dict[str, Any]:
        return _render(r["id"], r["name"], r["scopes"], r["tokenLastCharacters"], r["dateCreated"], None)

    response = execute(command, render, status=201)
    if response.status_code == 201 and "Idempotent-Replayed" not in response.headers:
        response.set_data(json.dumps({**json.loads(response.get_data()), "token": secret}))
    return response


@bp.get("/organizations/<org_slug>/org-auth-tokens/<token_id>/")
@bp.response(200, OrgAuthToken)
@operation("An active org auth token", reads=True)
@context.requires(TOKEN_READ)
def get_org_auth_token(org_slug: str, token_id: str) -> Response:
    consistent(VIEWS)
    org = context.organization(org_slug)
    row = _live_token(org.id, token_id)
    used = context.services().token_usage.last_used([row.id]).get(row.id)
    return with_position(_render_row(row, used), VIEWS)


@bp.put("/organizations/<org_slug>/org-auth-tokens/<token_id>/")
@bp.response(204)
@operation("Rename an org auth token", body=NAME_BODY, reads=True, writes=True)
@context.requires(TOKEN_READ)
def rename_org_auth_token(org_slug: str, token_id: str) -> Response:
    consistent(VIEWS)
    org = context.organization(org_slug)
    row = _live_token(org.id, token_id)
    name = _name(context.json_body())
    return execute(RenameApiToken(org.id, row.id, row.token_hash, name), status=204)


@bp.delete("/organizations/<org_slug>/org-auth-tokens/<token_id>/")
@bp.response(204)
@operation("Revoke an org auth token: it authenticates no more", reads=True, writes=True)
@context.requires(TOKEN_DELETE)
def revoke_org_auth_token(org_slug: str, token_id: str) -> Response:
    consistent(VIEWS)
    org = context.organization(org_slug)
    row = _live_token(org.id, token_id)
    return execute(RevokeApiToken(org.id, row.id, row.token_hash), status=204)
