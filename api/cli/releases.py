"""``eventry repos``, ``eventry issues``, ``eventry users`` and ``eventry identities``: what
fetching commits and resolving issues need besides the HTTP API (same commands, audited)."""

from __future__ import annotations

import hashlib
import json
import secrets
from pathlib import Path

import click

from api.cli.common import JSON_OPTION, ORG_OPTION, cli_meta, create, emit, organization, services
from commands.groupreference import qualified_short_id
from commands.groups import CreateGroup
from commands.releases import AddRepository
from commands.users import LinkIdentity, SetUserEmail
from infra.git_provider import ProviderError, repository_dir
from infra.git_roots import OutsideRoots, confine, roots_for
from infra.releases import REPOSITORY_ID_KEY
from projections import release_queries
from projections.directory import find_project


def credential_sha256(credential: str) -> str:
    return hashlib.sha256(credential.encode()).hexdigest()


@click.group()
def repos() -> None:
    """Repositories commits are fetched from (the local git provider)."""


@repos.command("add")
@ORG_OPTION
@click.option("--path", "path", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--credential", default=None, help="require fetching users to hold this credential")
@click.argument("name")
def repos_add(org_slug: str, path: Path, credential: str | None, name: str) -> None:
    """Add repository NAME (e.g. acme/app) served from the git repository at --path, which must
    be inside the organization's EVENTRY_GIT_ROOTS."""
    with services() as svc:
        org = organization(svc, org_slug)
        roots = roots_for(svc.settings, org.id)
        try:
            path, git_dir = confine(path.absolute(), roots), str(repository_dir(path.absolute(), roots))
        except (OutsideRoots, ProviderError) as exc:
            raise click.ClickException(f"{path}: {exc}") from None
        config: dict[str, str] = {"path": str(path)}
        if credential:
            config["credential_sha256"] = credential_sha256(credential)
        result = create(
            svc,
            lambda i: AddRepository(org.id, i, name, "git", path.as_uri(), config, git_dir),
            REPOSITORY_ID_KEY,
            "releases",
        )
    click.echo(json.dumps({"id": str(result["id"]), "name": name, "url": path.as_uri()}))


@repos.command("list")
@ORG_OPTION
@JSON_OPTION
def repos_list(org_slug: str, as_json: bool) -> None:
    """The organization's repositories."""
    with services() as svc:
        org = organization(svc, org_slug)
        svc.engine.catch_up_all(["releases"])
        with svc.engine.read("releases") as view:
            rows = release_queries.repositories(view, org.id, None, None, 0, 10_000)
    emit(rows, as_json, ["id", "name", "provider", "url", "status"])


@click.group()
def issues() -> None:
    """Issues (groups): enough of them to be resolved by commits."""


@issues.command("create")
@ORG_OPTION
@click.option("--project", "project_slug", required=True)
@click.argument("title")
def issues_create(org_slug: str, project_slug: str, title: str) -> None:
    """Create an issue; prints its id and short id (what "Fixes SHORT-ID" names)."""
    with services() as svc:
        org = organization(svc, org_slug)
        with svc.engine.read("directory") as view:
            project = find_project(view, org.id, project_slug)
        if project is None:
            raise click.ClickException(f"project {project_slug!r} not found")
        result = create(
            svc, lambda i: CreateGroup(org.id, project.id, i, title), "group_snowflake_key", "groups"
        )
    short_id = qualified_short_id(project.slug, result["short_id"])
    click.echo(json.dumps({"id": str(result["id"]), "shortId": short_id, "title": title}))


@click.group()
def users() -> None:
    """The user behind an API token (a token acts as its user)."""


@users.command("set-email")
@ORG_OPTION
@click.option("--token-id", required=True, type=int)
@click.argument("email")
def users_set_email(org_slug: str, token_id: int, email: str) -> None:
    """Where mail for this token's user goes (e.g. "Unable to Fetch Commits")."""
    with services() as svc:
        org = organization(svc, org_slug)
        svc.dispatch(SetUserEmail(token_id, org.id, email), cli_meta())
    click.echo(email)


@click.group()
def identities() -> None:
    """Identities of users with repository providers."""


@identities.command("link")
@ORG_OPTION
@click.option("--token-id", required=True, type=int)
@click.option("--provider", default="git", show_default=True)
@click.option("--external-id", default=None)
@click.option("--credential", required=True)
def identities_link(
    org_slug: str, token_id: int, provider: str, external_id: str | None, credential: str
) -> None:
    """Link this token's user to a provider identity that holds --credential."""
    with services() as svc:
        organization(svc, org_slug)
        command = LinkIdentity(
            token_id, provider, external_id or secrets.token_hex(4), credential_sha256(credential)
        )
        svc.dispatch(command, cli_meta())
    click.echo(f"linked {provider}")
