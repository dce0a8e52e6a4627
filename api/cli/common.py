"""What every command module of the command line shares: the services, the actor, lookups by slug
or id, creating an entity, table or JSON output, and stopping on signals. Command modules import
this, never the ``main`` group."""

from __future__ import annotations

import getpass
import json
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from commands import Command, DomainError
from events import Meta
from infra import preflight, telemetry
from infra.bootstrap import Services, bootstrap
from infra.config import ConfigError, Settings
from infra.engine import UnknownProjection
from projections.directory import OrganizationRow, ProjectRow, find_organization, find_project

ORG_OPTION = click.option("--org", "org_slug", required=True)
JSON_OPTION = click.option("--json", "as_json", is_flag=True)


class EventryGroup(click.Group):
    """The ``eventry`` group: a setting that does not work (a mistyped variable, a database that
    does not answer or is not migrated) ends any command with one line naming it, exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (ConfigError, preflight.Unusable) as exc:
            raise click.ClickException(str(exc)) from None


def cli_meta() -> Meta:
    """The actor of a change made on the command line: the operator at this host."""
    return Meta(actor_type="cli", actor_label=f"{getpass.getuser()}@{socket.gethostname()}"[:64])


@contextmanager
def services() -> Iterator[Services]:
    """The services configured by the environment; a domain error is the command's error message."""
    settings = Settings.from_env()
    telemetry.configure_logging("WARNING", settings.log_json)
    preflight.require(settings)
    svc = bootstrap(settings)
    try:
        yield svc
    except DomainError as exc:
        raise click.ClickException(exc.detail) from None
    except UnknownProjection as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        svc.close()


def create(svc: Services, make: Callable[[int], Command], id_key: str, view: str) -> Any:
    """The result of creating an entity as the operator, with a fresh snowflake id drawn from
    ID_KEY (again on a collision); VIEW has caught up, so the next command finds the entity."""
    outcome = svc.dispatch_with_new_id(make, id_key, cli_meta())
    svc.engine.catch_up_all([view], until=outcome.position or 0)
    return outcome.result


def organization(svc: Services, slug: str) -> OrganizationRow:
    """The organization SLUG (or id), read after the directory caught up with the log."""
    svc.engine.catch_up_all(["directory"])
    with svc.engine.read("directory") as view:
        org = find_organization(view, slug)
    if org is None:
        raise click.ClickException(f"organization {slug!r} not found")
    return org


def project(svc: Services, org: OrganizationRow, slug: str) -> ProjectRow:
    """The active project SLUG (or id) of ORG; one pending deletion is not found."""
    with svc.engine.read("directory") as view:
        found = find_project(view, org.id, slug)
    if found is None or found.status != "active":
        raise click.ClickException(f"project {slug!r} not found in {org.slug}")
    return found


def emit(rows: list[dict[str, Any]], as_json: bool, columns: list[str]) -> None:
    """ROWS as indented JSON, or as a table of COLUMNS under upper-case headings."""
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    widths = {c: max([len(c), *(len(str(r.get(c, ""))) for r in rows)]) for c in columns}
    click.echo("  ".join(c.upper().ljust(widths[c]) for c in columns))
    for row in rows:
        click.echo("  ".join(str(row.get(c, "")).ljust(widths[c]) for c in columns))


def stop_on_signals(stop: threading.Event) -> None:
    """SIGTERM and SIGINT ask a long-running loop to finish its step and stop."""
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
