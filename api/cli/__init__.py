"""The ``eventry`` command line. State changes go through the same commands as HTTP, so the
audit log records them (actor: the operator at this host).

Each module here defines one area's commands without knowing this group; the group adds them.
What they share (services, lookups, output) is in ``api.cli.common``. Nothing of the HTTP API
imports this package (an import-linter contract checks it)."""

from __future__ import annotations

import click

from api.cli import (
    audit,
    billing,
    check,
    openapi,
    organizations,
    projections,
    relays,
    releases,
    remote,
    serving,
    tokens,
    transfer,
)
from api.cli.common import EventryGroup


@click.group(cls=EventryGroup)
@click.version_option(package_name="eventry", message="eventry %(version)s")
def main() -> None:
    """eventry: Sentry's project settings, releases and relay configs, event-sourced."""


for command in (
    serving.serve,
    serving.migrate_command,
    serving.worker,
    check.check,
    projections.projections,
    organizations.orgs,
    organizations.projects,
    organizations.keys_group,
    tokens.tokens_group,
    audit.audit,
    releases.repos,
    releases.issues,
    releases.users,
    releases.identities,
    relays.relays,
    relays.relay_config,
    billing.consume,
    remote.api_command,
    remote.metrics_group,
    openapi.openapi_command,
    transfer.export_command,
    transfer.import_command,
):
    main.add_command(command)
