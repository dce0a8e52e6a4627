"""``eventry check``: what this environment would connect to, and whether each part works."""

from __future__ import annotations

import sys

import click

from infra import preflight
from infra.config import Settings
from infra.heartbeat import Heartbeat
from infra.redis import connect


@click.command("check")
def check() -> None:
    """Show the database, tables and Redis these settings use and whether each works (exit 1 if not)."""
    settings = Settings.from_env()
    results = preflight.checks(settings)
    for result in results:
        click.echo(f"{result.name:<9} {'ok' if result.problem is None else 'FAIL':<5} {result.target}")
        if result.problem is not None:
            click.echo(f"{'':<16}{result.problem}")
    if all(r.problem is None for r in results):
        click.echo(f"{'worker':<9} {'':<5} {_worker(settings)}")
        return
    sys.exit(1)


def _worker(settings: Settings) -> str:
    """Informational: a deployment may be checked before its worker starts."""
    client = connect(settings.redis_url, settings.data_dir, cluster=settings.redis_cluster)
    try:
        age = Heartbeat(client, settings.deployment).age()
    finally:
        client.close()
    if age is None:
        return "no projection worker has reported (start `eventry worker`, or `eventry serve` embedded)"
    return f"the projection worker last reported {age:.0f} s ago"
