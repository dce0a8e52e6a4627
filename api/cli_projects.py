"""``eventry projects delete`` and ``eventry keys list``: through the same commands and views as HTTP."""

from __future__ import annotations

import click

from api.cli import _emit, _organization, cli_meta, main, projects, services
from api.project_render import key_body
from commands.project_settings import DeleteProject
from infra import draws
from infra.bootstrap import Services
from projections.directory import OrganizationRow, ProjectRow, find_project
from projections.project_keys import list_keys


def _project(svc: Services, org: OrganizationRow, slug: str) -> ProjectRow:
    with svc.engine.read("directory") as view:
        project = find_project(view, org.id, slug)
    if project is None or project.status != "active":
        raise click.ClickException(f"project {slug!r} not found in {org.slug}")
    return project


@projects.command("delete")
@click.option("--org", "org_slug", required=True)
@click.argument("project_slug")
def projects_delete(org_slug: str, project_slug: str) -> None:
    """Schedule PROJECT (slug or id) for deletion: its slug is freed and its keys stop working."""
    with services() as svc:
        org = _organization(svc, org_slug)
        project = _project(svc, org, project_slug)
        svc.dispatch(DeleteProject(project.id, org.id, draws.hex_id()), cli_meta())
        svc.engine.catch_up_all(["directory"])
    click.echo(f"project {project.slug} ({project.id}) is pending deletion")


@main.group("keys")
def keys_group() -> None:
    """Project keys (DSNs)."""


@keys_group.command("list")
@click.option("--org", "org_slug", required=True)
@click.option("--project", "project_slug", required=True)
@click.option("--json", "as_json", is_flag=True)
def keys_list(org_slug: str, project_slug: str, as_json: bool) -> None:
    """The project's keys, newest first, with their public DSN."""
    with services() as svc:
        org = _organization(svc, org_slug)
        project = _project(svc, org, project_slug)
        svc.engine.catch_up_all(["project_keys"])
        with svc.engine.read("project_keys") as view:
            rows = list_keys(view, project.id)
        prefix = svc.settings.url_prefix
    keys = [key_body(r, prefix) for r in rows]
    if as_json:
        _emit(keys, True, [])
        return
    table = [
        {"id": k["id"], "label": k["label"], "active": k["isActive"], "dsn": k["dsn"]["public"]} for k in keys
    ]
    _emit(table, False, ["id", "label", "active", "dsn"])
