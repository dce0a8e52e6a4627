"""``eventry tokens create|list|revoke|rotate``: API tokens, printed once and stored only as a hash."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

from api.cli.common import JSON_OPTION, ORG_OPTION, cli_meta, emit, organization, services
from api.periods import parse_stats_period
from commands.organizations import OPERATOR_SCOPE, CreateApiToken
from commands.tokens import RevokeApiToken, RotateApiToken
from events.organizations import ORG_TOKEN
from infra import tokens
from infra.bootstrap import Services
from projections.directory import OrganizationRow
from projections.tokens import TokenRow, find_token, list_tokens

EXPIRES_OPTION = click.option(
    "--expires", default=None, help="lifetime, e.g. 30d, 12h, 2w or seconds (default: never expires)"
)
COLUMNS = ["id", "kind", "name", "scopes", "last4", "status", "created", "expires", "last_used"]


@click.group("tokens")
def tokens_group() -> None:
    """API tokens."""


def _seconds(expires: str | None) -> int | None:
    if expires is None:
        return None
    period = parse_stats_period(expires.strip())
    if period is None or period.total_seconds() <= 0:
        raise click.BadParameter(f"{expires!r}: give a positive lifetime such as 30d, 12h or 3600")
    return int(period.total_seconds())


def _print_new(result: dict[str, Any], secret: str) -> None:
    expiry = f", expires {result['expiresAt']}" if result.get("expiresAt") else ""
    click.echo(f"token id {result['id']} with scopes {','.join(result['scopes'])}{expiry}", err=True)
    click.echo(secret)


@tokens_group.command("create")
@ORG_OPTION
@click.option("--scopes", required=True, help="comma-separated, e.g. project:read,project:write")
@click.option("--label", default="")
@EXPIRES_OPTION
@click.option(
    "--operator", is_flag=True, help=f"add {OPERATOR_SCOPE}: rebuild and retry views in the console"
)
def tokens_create(org_slug: str, scopes: str, label: str, expires: str | None, operator: bool) -> None:
    """Create a token; it is printed once, on the last line, and stored only as a hash."""
    token = tokens.generate()
    wanted = tuple(s.strip() for s in scopes.split(",") if s.strip())
    lifetime = _seconds(expires)
    with services() as svc:
        org = organization(svc, org_slug)
        label = label or f"cli token for {org.slug}"
        command = CreateApiToken(
            org.id,
            tokens.hash_token(token),
            token[-4:],
            label,
            wanted,
            expires_in=lifetime,
            operator=operator,
        )
        outcome = svc.dispatch(command, cli_meta())
        svc.engine.catch_up_all(["directory", "tokens"], until=outcome.position or 0)
    _print_new(outcome.result, token)


@tokens_group.command("list")
@ORG_OPTION
@JSON_OPTION
def tokens_list(org_slug: str, as_json: bool) -> None:
    """The organization's tokens (revoked and expired ones too) and when each was last used."""
    with services() as svc:
        org = organization(svc, org_slug)
        svc.engine.catch_up_all(["tokens"])
        with svc.engine.read("tokens") as view:
            rows = list_tokens(view, org.id)
        used = svc.token_usage.last_used(r.id for r in rows)
    now = datetime.now(UTC).isoformat()
    emit([_listed(r, now, used.get(r.id)) for r in rows], as_json, COLUMNS)


def _listed(row: TokenRow, now: str, used: str | None) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "name": row.name,
        "scopes": ",".join(row.scopes),
        "last4": row.last_characters,
        "status": row.status(now),
        "created": row.date_created,
        "expires": row.expires_at or "never",
        "last_used": used or "never",
    }


def _token(svc: Services, org: OrganizationRow, token_id: int) -> TokenRow:
    svc.engine.catch_up_all(["tokens"])
    with svc.engine.read("tokens") as view:
        row = find_token(view, org.id, token_id)
    if row is None or row.date_deactivated is not None:
        raise click.ClickException(f"no active token {token_id} in {org.slug}")
    return row


@tokens_group.command("revoke")
@ORG_OPTION
@click.argument("token_id", type=int)
def tokens_revoke(org_slug: str, token_id: int) -> None:
    """Revoke a token: it authenticates no more (other processes: within EVENTRY_LOOKUP_CACHE_SECONDS)."""
    with services() as svc:
        org = organization(svc, org_slug)
        row = _token(svc, org, token_id)
        outcome = svc.dispatch(RevokeApiToken(org.id, row.id, row.token_hash), cli_meta())
        svc.engine.catch_up_all(["tokens"], until=outcome.position or 0)
    click.echo(f"token {token_id} revoked")


@tokens_group.command("rotate")
@ORG_OPTION
@click.argument("token_id", type=int)
@EXPIRES_OPTION
def tokens_rotate(org_slug: str, token_id: int, expires: str | None) -> None:
    """Replace a token by a new secret (same name, kind and scopes) and revoke the old one at once;
    the new secret is printed once, on the last line. The expiry stays unless --expires is given."""
    lifetime = _seconds(expires)
    with services() as svc:
        org = organization(svc, org_slug)
        row = _token(svc, org, token_id)
        secret = (
            tokens.generate_org(org.slug, svc.settings.url_prefix)
            if row.kind == ORG_TOKEN
            else tokens.generate()
        )
        command = RotateApiToken(
            org.id, row.id, row.token_hash, tokens.hash_token(secret), secret[-4:], lifetime
        )
        outcome = svc.dispatch(command, cli_meta())
        svc.engine.catch_up_all(["tokens"], until=outcome.position or 0)
    _print_new(outcome.result, secret)
