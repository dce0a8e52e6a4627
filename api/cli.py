"""The ``eventry`` command line. State changes go through the same commands as HTTP, so the
audit log records them (actor: the operator at this host)."""

from __future__ import annotations

import getpass
import json
import re
import signal
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from commands import DomainError
from commands.organizations import CreateApiToken, CreateOrganization, CreateProject
from events import Meta
from infra import draws, telemetry, tokens
from infra.assemble import job_runner
from infra.bootstrap import Services, bootstrap, migrate
from infra.config import Settings
from infra.engine import UnknownProjection
from infra.worker import Worker
from projections import audit_log
from projections.directory import (
    OrganizationRow,
    find_organization,
    list_organizations,
    list_projects,
)


def cli_meta() -> Meta:
    return Meta(actor_type="cli", actor_label=f"{getpass.getuser()}@{socket.gethostname()}"[:64])


@contextmanager
def services() -> Iterator[Services]:
    settings = Settings.from_env()
    telemetry.configure_logging("WARNING", settings.log_json)
    svc = bootstrap(settings)
    try:
        yield svc
    except DomainError as exc:
        raise click.ClickException(exc.detail) from None
    except UnknownProjection as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        svc.close()


def _organization(svc: Services, slug: str) -> OrganizationRow:
    svc.engine.catch_up_all(["directory"])
    with svc.engine.read("directory") as view:
        org = find_organization(view, slug)
    if org is None:
        raise click.ClickException(f"organization {slug!r} not found")
    return org


def _emit(rows: list[dict[str, Any]], as_json: bool, columns: list[str]) -> None:
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    widths = {c: max([len(c), *(len(str(r.get(c, ""))) for r in rows)]) for c in columns}
    click.echo("  ".join(c.upper().ljust(widths[c]) for c in columns))
    for row in rows:
        click.echo("  ".join(str(row.get(c, "")).ljust(widths[c]) for c in columns))


@click.group()
def main() -> None:
    """eventry: Sentry's project settings, releases and relay configs, event-sourced."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="gunicorn worker processes")
def serve(host: str, port: int, workers: int) -> None:
    """Serve the API (and, on the embedded default, the projection worker)."""
    from api.server import run

    settings = Settings.from_env()
    if workers > 1 and settings.is_embedded:
        raise click.ClickException(
            "the embedded default (SQLite, in-process Redis) runs one process; "
            "set DATABASE_URL and REDIS_URL to serve with --workers"
        )
    run(host, port, workers, settings)


@main.command("migrate")
def migrate_command() -> None:
    """Create or upgrade every table; run once before servers and workers."""
    migrate(Settings.from_env())
    click.echo("migrated")


@main.command()
@click.option("--projection", "names", multiple=True, help="only these projections (repeatable)")
def worker(names: tuple[str, ...]) -> None:
    """Follow the log and keep the views up to date, and run background jobs (until SIGINT/SIGTERM)."""
    settings = Settings.from_env()
    telemetry.configure_logging(settings.log_level, settings.log_json)
    svc = bootstrap(settings)
    for name in names:
        svc.engine.projection(name)
    conninfo = settings.postgres_conninfo() if settings.is_postgres else None
    channel = getattr(svc.store.recorder, "channel_name", "eventry_events")
    runner = Worker(svc.engine, list(names) or None, settings.poll_interval, conninfo, channel)
    signal.signal(signal.SIGTERM, lambda *_: runner.stop.set())
    signal.signal(signal.SIGINT, lambda *_: runner.stop.set())
    jobs = job_runner(svc)  # assembly of uploaded files
    jobs_thread = jobs.start()
    try:
        runner.run()
    finally:
        jobs.shutdown(jobs_thread)
        svc.close()


@main.group()
def projections() -> None:
    """Inspect and rebuild read models."""


@projections.command("status")
@click.option("--json", "as_json", is_flag=True)
def projections_status(as_json: bool) -> None:
    """Each projection's position, generation and lag behind the log."""
    with services() as svc:
        rows = [
            {
                "name": s.name,
                "generation": s.generation,
                "position": s.position,
                "head": s.head,
                "lag": s.lag,
                "rebuilding": s.rebuilding or "",
            }
            for s in svc.engine.status()
        ]
    _emit(rows, as_json, ["name", "generation", "position", "head", "lag", "rebuilding"])


@projections.command("rebuild")
@click.argument("name")
def projections_rebuild(name: str) -> None:
    """Replay the log into a new generation of NAME; swap when caught up."""
    with services() as svc:
        try:
            svc.engine.projection(name)
        except UnknownProjection:
            raise click.ClickException(
                f"unknown projection {name!r}; one of: {', '.join(svc.engine.projections)}"
            ) from None
        head = max(svc.store.head(), 1)
        with click.progressbar(length=head, label=f"rebuilding {name}", file=sys.stderr) as bar:
            done = [0]

            def progress(position: int, total: int) -> None:
                bar.update(position - done[0])
                done[0] = position

            generation = svc.engine.rebuild(name, progress)
    click.echo(f"{name}: generation {generation} is active")


@projections.command("errors")
@click.option("--projection", "name", default=None, help="only this projection")
@click.option("--json", "as_json", is_flag=True, help="every field, the whole error text")
def projections_errors(name: str | None, as_json: bool) -> None:
    """Events a projection could not fold (failed) and the later ones of their streams (waiting)."""
    with services() as svc:
        if name is not None:
            _known_projection(svc, name)
        parked = svc.engine.parked(name)
    if as_json:
        click.echo(json.dumps([p.__dict__ for p in parked], indent=2, default=str))
        return
    if not parked:
        click.echo("no parked events")
        return
    rows = [
        {**p.__dict__, "error": p.error.splitlines()[0][:100] if p.error else f"({p.status})"} for p in parked
    ]
    _emit(rows, False, ["projection", "generation", "position", "stream", "topic", "attempts", "error"])


@projections.command("retry")
@click.argument("name")
def projections_retry(name: str) -> None:
    """Retry NAME's parked events now (after a fix): each stream in order, up to its first failure."""
    with services() as svc:
        _known_projection(svc, name)
        applied = svc.engine.retry(name)
        generation = next((s.generation for s in svc.engine.status() if s.name == name), None)
        left = [p for p in svc.engine.parked(name) if p.generation == generation]
    click.echo(f"{name}: {applied} parked events applied, {len(left)} still parked")
    failed = [p for p in left if p.status == "failed"]
    if failed:
        raise click.ClickException(f"position {failed[0].position} still fails: {failed[0].error}")


def _known_projection(svc: Services, name: str) -> None:
    try:
        svc.engine.projection(name)
    except UnknownProjection:
        raise click.ClickException(
            f"unknown projection {name!r}; one of: {', '.join(svc.engine.projections)}"
        ) from None


@main.group()
def orgs() -> None:
    """Organizations."""


@orgs.command("create")
@click.argument("slug")
@click.option("--name", default="")
def orgs_create(slug: str, name: str) -> None:
    with services() as svc:
        outcome = svc.dispatch_with_new_id(
            lambda i: CreateOrganization(i, slug, name or slug),
            "organization_snowflake_key",
            cli_meta(),
        )
        svc.engine.catch_up_all(["directory"])
    click.echo(json.dumps(outcome.result))


@orgs.command("list")
@click.option("--json", "as_json", is_flag=True)
def orgs_list(as_json: bool) -> None:
    with services() as svc:
        svc.engine.catch_up_all(["directory"])
        with svc.engine.read("directory") as view:
            rows = [o.__dict__ for o in list_organizations(view)]
    _emit(rows, as_json, ["id", "slug", "name", "date_created"])


@main.group()
def projects() -> None:
    """Projects."""


@projects.command("create")
@click.option("--org", "org_slug", required=True)
@click.option("--platform", default=None)
@click.argument("name")
def projects_create(org_slug: str, platform: str | None, name: str) -> None:
    """Create a project (slug derived from NAME) with its default key."""
    with services() as svc:
        org = _organization(svc, org_slug)
        suffixes, fallback = draws.slug_candidates()
        outcome = svc.dispatch_with_new_id(
            lambda i: CreateProject(
                org.id,
                i,
                name,
                platform,
                suffixes,
                fallback,
                default_key=draws.new_key(svc.snowflake("project_key_snowflake_key")),
            ),
            "project_snowflake_key",
            cli_meta(),
        )
        svc.engine.catch_up_all(["directory"])
    click.echo(json.dumps(outcome.result))


@projects.command("list")
@click.option("--org", "org_slug", required=True)
@click.option("--json", "as_json", is_flag=True)
def projects_list(org_slug: str, as_json: bool) -> None:
    with services() as svc:
        org = _organization(svc, org_slug)
        with svc.engine.read("directory") as view:
            rows = [p.__dict__ for p in list_projects(view, org.id)]
    _emit(rows, as_json, ["id", "slug", "name", "platform", "status"])


@main.group("tokens")
def tokens_group() -> None:
    """API tokens."""


@tokens_group.command("create")
@click.option("--org", "org_slug", required=True)
@click.option("--scopes", required=True, help="comma-separated, e.g. project:read,project:write")
@click.option("--label", default="")
def tokens_create(org_slug: str, scopes: str, label: str) -> None:
    """Create a token; it is printed once, on the last line, and stored only as a hash."""
    token = tokens.generate()
    wanted = tuple(s.strip() for s in scopes.split(",") if s.strip())
    with services() as svc:
        org = _organization(svc, org_slug)
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


RELATIVE = re.compile(r"^(\d+)([smhd])$")


def parse_since(value: str | None) -> str | None:
    """``--since`` takes an ISO date/time or a relative age such as ``30m``, ``2h``, ``7d``."""
    if not value:
        return None
    match = RELATIVE.match(value)
    if match:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
        return (datetime.now(UTC) - timedelta(**{unit: int(match.group(1))})).isoformat()
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            "use an ISO date/time or an age like 30m, 2h, 7d", param_hint="--since"
        ) from None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


@main.command()
@click.option("--org", "org_slug", required=True)
@click.option("--event", default=None, help="api name, e.g. metric.block")
@click.option("--actor", type=click.IntRange(0, audit_log.MAX_ACTOR_ID), default=None)
@click.option("--since", default=None, help="ISO time or age (30m, 2h, 7d)")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10000))
@click.option("--follow", is_flag=True, help="keep printing new entries")
@click.option("--json", "as_json", is_flag=True, help="one JSON object per line")
def audit(
    org_slug: str,
    event: str | None,
    actor: int | None,
    since: str | None,
    limit: int,
    follow: bool,
    as_json: bool,
) -> None:
    """The organization's audit log, newest first (oldest first with --follow)."""
    since_iso = parse_since(since)
    with services() as svc:
        org = _organization(svc, org_slug)
        svc.engine.catch_up_all(["audit_log"])
        query = audit_log.AuditQuery(org.id, event, actor, since_iso, limit=limit)
        with svc.engine.read("audit_log") as view:
            rows = audit_log.query(view, query)
        if follow:
            rows.reverse()
        for row in rows:
            _print_entry(row, as_json)
        last = max((int(r["id"]) for r in rows), default=0)
        while follow:
            time.sleep(svc.settings.poll_interval * 10)
            svc.engine.catch_up_all(["audit_log"])
            with svc.engine.read("audit_log") as view:
                newer = audit_log.query(
                    view, audit_log.AuditQuery(org.id, event, actor, since_iso, after_id=last)
                )
            for row in newer:
                _print_entry(row, as_json)
                last = int(row["id"])


def _print_entry(row: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(row), nl=True)
    else:
        click.echo(f"{row['dateCreated']}  {row['event']:<20} {row['actor'].get('name', '')}  {row['note']}")
    sys.stdout.flush()


# Command groups of other areas live in api/cli_<area>.py; importing one registers it on `main`.
from api import cli_billing, cli_openapi, cli_projects, cli_relays, cli_releases, cli_remote  # noqa: E402,F401

if __name__ == "__main__":
    # Run as `python -m api.cli`, this file is `__main__`; the extensions registered themselves
    # on the importable `api.cli` module, so run that one.
    from api.cli import main as entry

    entry()
