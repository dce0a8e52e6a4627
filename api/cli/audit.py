"""``eventry audit``: an organization's audit log, a projection of the events."""

from __future__ import annotations

import json
import re
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from api.cli.common import ORG_OPTION, organization, services
from projections import audit_log

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


@click.command()
@ORG_OPTION
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
        org = organization(svc, org_slug)
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
