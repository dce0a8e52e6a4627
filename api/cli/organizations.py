"""``eventry orgs``, ``eventry projects`` and ``eventry keys``: the directory, through the same
commands and views as HTTP."""

from __future__ import annotations

import json

import click

from api.cli.common import (
    JSON_OPTION,
    ORG_OPTION,
    cli_meta,
    create,
    emit,
    organization,
    project,
    services,
)
from api.project_render import key_body
from commands.organizations import CreateOrganization, CreateProject
from commands.project_settings import DeleteProject
from infra import draws
from projections.directory import list_organizations, list_projects
from projections.project_keys import list_keys


@click.group()
def orgs() -> None:
    """Organizations."""


@orgs.command("create")
@click.argument("slug")
@click.option("--name", default="")
def orgs_create(slug: str, name: str) -> None:
    """Create organization SLUG (named SLUG unless --name)."""
    with services() as svc:
        make = lambda i: CreateOrganization(i, slug, name or slug)
        result = create(svc, make, "organization_snowflake_key", "directory")
    click.echo(json.dumps(result))


@orgs.command("list")
@JSON_OPTION
def orgs_list(as_json: bool) -> None:
    """Every organization."""
    with services() as svc:
        svc.engine.catch_up_all(["directory"])
        with svc.engine.read("directory") as view:
            rows = [o.__dict__ for o in list_organizations(view)]
    emit(rows, as_json, ["id", "slug", "name", "date_created"])


@click.group()
def projects() -> None:
    """Projects."""


@projects.command("create")
@ORG_OPTION
@click.option("--platform", default=None)
@click.argument("name")
def projects_create(org_slug: str, platform: str | None, name: str) -> None:
    """Create a project (slug derived from NAME) with its default key."""
    with services() as svc:
        org = organization(svc, org_slug)
        suffixes, fallback = draws.slug_candidates()
        result = create(
            svc,
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
            "directory",
        )
    click.echo(json.dumps(result))


@projects.command("list")
@ORG_OPTION
@JSON_OPTION
def projects_list(org_slug: str, as_json: bool) -> None:
    """The organization's projects."""
    with services() as svc:
        org = organization(svc, org_slug)
        with svc.engine.read("directory") as view:
            rows = [p.__dict__ for p in list_projects(view, org.id)]
    emit(rows, as_json, ["id", "slug", "name", "platform", "status"])


@projects.command("delete")
@ORG_OPTION
@click.argument("project_slug")
def projects_delete(org_slug: str, project_slug: str) -> None:
    """Schedule PROJECT (slug or id) for deletion: its slug is freed and its keys stop working."""
    with services() as svc:
        org = organization(svc, org_slug)
        found = project(svc, org, project_slug)
        outcome = svc.dispatch(DeleteProject(found.id, org.id, draws.hex_id()), cli_meta())
        svc.engine.catch_up_all(["directory"], until=outcome.position or 0)
    click.echo(f"project {found.slug} ({found.id}) is pending deletion")


@click.group("keys")
def keys_group() -> None:
    """Project keys (DSNs)."""


@keys_group.command("list")
@ORG_OPTION
@click.option("--project", "project_slug", required=True)
@JSON_OPTION
def keys_list(org_slug: str, project_slug: str, as_json: bool) -> None:
    """The project's keys, newest first, with their public DSN."""
    with services() as svc:
        org = organization(svc, org_slug)
        found = project(svc, org, project_slug)
        svc.engine.catch_up_all(["project_keys"])
        with svc.engine.read("project_keys") as view:
            rows = list_keys(view, found.id)
        prefix = svc.settings.url_prefix
    keys = [key_body(r, prefix) for r in rows]
    if as_json:
        emit(keys, True, [])
        return
    table = [
        {"id": k["id"], "label": k["label"], "active": k["isActive"], "dsn": k["dsn"]["public"]} for k in keys
    ]
    emit(table, False, ["id", "label", "active", "dsn"])
