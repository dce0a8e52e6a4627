"""``eventry openapi``: the OpenAPI document (or docs/api.md's route index) without a server."""

from __future__ import annotations

import json
from typing import cast

import click

from api import openapi
from api.app import create_app
from infra.bootstrap import Services


@click.command("openapi")
@click.option("--routes-markdown", is_flag=True, help="docs/api.md's route index instead of the document")
def openapi_command(routes_markdown: bool) -> None:
    """Print the OpenAPI 3.1 document served at /api/0/openapi.json."""
    # The document depends on the routes only: no services are started or connected.
    document = openapi.build(create_app(cast(Services, object())))
    click.echo(openapi.routes_markdown(document) if routes_markdown else json.dumps(document, indent=2))
