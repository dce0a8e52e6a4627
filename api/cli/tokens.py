"""``eventry tokens create``: API tokens, printed once and stored only as a hash."""

from __future__ import annotations

import click

from api.cli.common import ORG_OPTION, cli_meta, organization, services
from commands.organizations import CreateApiToken
from infra import tokens


@click.group("tokens")
def tokens_group() -> None:
    """API tokens."""


@tokens_group.command("create")
@ORG_OPTION
@click.option("--scopes", required=True, help="comma-separated, e.g. project:read,project:write")
@click.option("--label", default="")
def tokens_create(org_slug: str, scopes: str, label: str) -> None:
    """Create a token; it is printed once, on the last line, and stored only as a hash."""
    token = tokens.generate()
    wanted = tuple(s.strip() for s in scopes.split(",") if s.strip())
    with services() as svc:
        org = organization(svc, org_slug)
        command = CreateApiToken(
            org.id,
            tokens.hash_token(token),
            token[-4:],
            label or f"cli token for {org.slug}",
            wanted,
        )
        outcome = svc.dispatch(command, cli_meta())
        svc.engine.catch_up_all(["directory"])
    click.echo(
        f"token id {outcome.result['id']} with scopes {','.join(outcome.result['scopes'])}",
        err=True,
    )
    click.echo(token)
