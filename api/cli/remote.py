"""Commands that talk to a running eventry over HTTP, through the Python client:
``eventry api METHOD PATH`` and ``eventry metrics block|unblock|block-tags|unblock-tags``."""

from __future__ import annotations

import json
from typing import Any

import click

from api.client import ApiError, EventryClient, TransportError

URL_OPTION = click.option("--url", envvar="EVENTRY_URL", default="http://127.0.0.1:8000", show_default=True)
TOKEN_OPTION = click.option("--token", envvar="EVENTRY_TOKEN", required=True, help="or EVENTRY_TOKEN")


def _call(
    client: EventryClient, method: str, path: str, body: Any = None, min_position: int | None = None
) -> Any:
    try:
        if method == "GET":
            response = client.get(path, min_position=min_position)
        else:
            response = client.request(method, path, body=body, headers={})
    except ApiError as exc:
        raise click.ClickException(f"{exc.status} {json.dumps(exc.data)}") from None
    except TransportError as exc:
        raise click.ClickException(str(exc)) from None
    if response.position is not None:
        click.echo(f"position {response.position}", err=True)
    return response.data


@click.command("api")
@click.argument("method", type=click.Choice(["GET", "POST", "PUT", "DELETE"], case_sensitive=False))
@click.argument("path")
@click.option("--data", default=None, help="JSON request body")
@click.option(
    "--min-position", type=click.IntRange(0), default=None, help="read no older than this log position"
)
@URL_OPTION
@TOKEN_OPTION
def api_command(
    method: str, path: str, data: str | None, min_position: int | None, url: str, token: str
) -> None:
    """Call any API route (PATH is relative to /api/0) and print the JSON answer. Writes print
    their log position on stderr; pass it to a later read as --min-position to see the write."""
    try:
        body = json.loads(data) if data is not None else None
    except ValueError:
        raise click.BadParameter("not JSON", param_hint="--data") from None
    click.echo(
        json.dumps(_call(EventryClient(url, token), method.upper(), path, body, min_position), indent=2)
    )


@click.group("metrics")
def metrics_group() -> None:
    """Block and unblock metrics and their tags on a running server."""


def _visibility(
    operation: str, url: str, token: str, org: str, project: str, mri: str, tags: tuple[str, ...]
) -> None:
    body: dict[str, Any] = {"operationType": operation, "metricMri": mri}
    if tags:
        body["tags"] = list(tags)
    path = f"/projects/{org}/{project}/metrics/visibility/"
    click.echo(json.dumps(_call(EventryClient(url, token), "PUT", path, body)))


for _name, _operation, _with_tags in (
    ("block", "blockMetric", False),
    ("unblock", "unblockMetric", False),
    ("block-tags", "blockTags", True),
    ("unblock-tags", "unblockTags", True),
):

    def _command(operation: str = _operation, with_tags: bool = _with_tags) -> click.Command:
        @URL_OPTION
        @TOKEN_OPTION
        @click.argument("org")
        @click.argument("project")
        @click.argument("mri")
        @click.argument("tags", nargs=-1, required=with_tags)
        def run(url: str, token: str, org: str, project: str, mri: str, tags: tuple[str, ...]) -> None:
            _visibility(operation, url, token, org, project, mri, tags)

        return click.command(help=f"{operation} on ORG/PROJECT (MRI{' TAG...' if with_tags else ''})")(run)

    metrics_group.add_command(_command(), _name)
