"""``eventry relays list|register-internal`` and ``eventry relay-config show``."""

from __future__ import annotations

import json
import uuid

import click
from sentry_relay.auth import PublicKey

from api.cli.common import JSON_OPTION, cli_meta, emit, services
from commands.relays import RegisterRelay
from projections import relay_configs
from projections.relays import list_relays


@click.group()
def relays() -> None:
    """Relays registered with this server."""


@relays.command("list")
@JSON_OPTION
def relays_list(as_json: bool) -> None:
    """Registered relays: key, version, whether internal, last seen."""
    with services() as svc:
        svc.engine.catch_up_all(["relays"])
        with svc.engine.read("relays") as view:
            rows = list_relays(view)
    emit(rows, as_json, ["relay_id", "public_key", "version", "internal", "last_seen"])


@relays.command("register-internal")
@click.argument("relay_id")
@click.argument("public_key")
@click.option("--version", default="", help="the relay's version, if known")
def relays_register_internal(relay_id: str, public_key: str, version: str) -> None:
    """Register (or promote) a relay as internal: it may fetch any project's full config."""
    try:
        relay_id = str(uuid.UUID(relay_id))
    except ValueError:
        raise click.BadParameter("not a UUID", param_hint="RELAY_ID") from None
    try:
        PublicKey.parse(public_key)
    except Exception:
        raise click.BadParameter("not a relay public key", param_hint="PUBLIC_KEY") from None
    with services() as svc:
        svc.dispatch(RegisterRelay(relay_id, public_key, version, internal=True), cli_meta())
    click.echo(f"relay {relay_id} is internal")


@click.group("relay-config")
def relay_config() -> None:
    """The project configs Relay fetches."""


@relay_config.command("show")
@click.argument("public_key")
def relay_config_show(public_key: str) -> None:
    """Print the stored config document of PUBLIC_KEY and the log position that produced it."""
    with services() as svc:
        svc.engine.catch_up_all(["relay_configs"])
        with svc.engine.read("relay_configs") as view:
            found = relay_configs.stored_document(view, public_key)
    if found is None:
        raise click.ClickException(f"no config for public key {public_key!r}")
    document, position = found
    click.echo(f"position {position}", err=True)
    click.echo(json.dumps(json.loads(document), indent=2, sort_keys=True))
