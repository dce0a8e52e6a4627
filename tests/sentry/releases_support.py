"""Factories for the ported Sentry tests of releases, deploys, the audit log and organization
details.

State is made through the public interface: the HTTP routes, or the real commands the CLI
dispatches (as ``tests/conftest.py`` makes organizations and tokens). Reads never send
``X-Eventry-Min-Position``: Sentry's clients and tests read their own writes, so eventry must too.

What eventry does not model is approximated as closely as the API allows:

- ``Release.objects.create(date_added=...)``: releases are created through the API in the order
  of their ``date_added`` (the server sets ``dateCreated``), so "newest first" orders are kept.
- users and members: a token acts for a user; "another user" is another token of the same
  organization; "a user of another organization" is a token of another organization.
- ``self.create_team()``: no teams are needed for what these tests read, projects are created
  with the organization's projects route.
"""

from __future__ import annotations

import dataclasses
import secrets
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from api.app import create_app
from commands.organizations import CreateOrganization
from infra.bootstrap import Services, bootstrap, migrate
from infra.config import Settings
from tests.conftest import OPERATOR, Tenant, make_tenant, make_token

# What Sentry's owner user may do (``self.login_as(self.user)`` on an organization it owns).
OWNER = (
    "org:read", "org:write", "org:admin", "org:integrations",
    "project:read", "project:write", "project:admin", "project:releases",
    "team:read", "team:write", "team:admin",
    "member:read", "member:write", "member:admin",
    "event:read", "event:write", "event:admin",
)  # fmt: skip


def path_version(version: str) -> str:
    return quote(version, safe="")


@dataclass
class Org:
    """One organization as a Sentry test sees it: its owner's token, its first project, and
    the test client."""

    client: FlaskClient
    services: Services
    tenant: Tenant

    @property
    def slug(self) -> str:
        return self.tenant.org_slug

    @property
    def id(self) -> int:
        return self.tenant.org_id

    @property
    def project(self) -> dict[str, Any]:
        return {"id": self.tenant.project_id, "slug": self.tenant.project_slug}

    def token(self, *scopes: str) -> str:
        """Another token of this organization with exactly these scopes."""
        return make_token(self.services, self.id, tuple(scopes), f"scoped {secrets.token_hex(2)}")[0]

    def headers(self, token: str | None = None, **extra: str) -> dict[str, str]:
        return self.tenant.headers(token, **extra)

    # HTTP, as the owner unless another token is given
    def as_actor(self, token: str | None) -> dict[str, str]:
        """Headers for a request by ``token``. Another actor than the owner first lets every view
        reach the head of the log, as Sentry's tests find their setup committed: eventry
        promises each token its own writes, not another token's (the owner's setup here)."""
        if token is not None and token != self.tenant.token:
            self.services.engine.catch_up_all()
        return self.headers(token)

    def get(self, path: str, token: str | None = None, **query: Any) -> TestResponse:
        return self.client.get(path, query_string=query, headers=self.as_actor(token))

    def post(self, path: str, body: Any, token: str | None = None, **headers: str) -> TestResponse:
        return self.client.post(path, json=body, headers={**self.as_actor(token), **headers})

    def put(self, path: str, body: Any, token: str | None = None) -> TestResponse:
        return self.client.put(path, json=body, headers=self.as_actor(token))

    def delete(self, path: str, token: str | None = None) -> TestResponse:
        return self.client.delete(path, headers=self.as_actor(token))

    # paths
    @property
    def url(self) -> str:
        return f"/api/0/organizations/{self.slug}/"

    @property
    def releases_url(self) -> str:
        return f"/api/0/organizations/{self.slug}/releases/"

    def release_url(self, version: str, tail: str = "") -> str:
        return f"{self.releases_url}{path_version(version)}/{tail}"

    def project_releases_url(self, project: dict[str, Any] | None = None) -> str:
        return f"/api/0/projects/{self.slug}/{(project or self.project)['slug']}/releases/"

    def project_release_url(self, version: str, project: dict[str, Any] | None = None) -> str:
        return f"{self.project_releases_url(project)}{path_version(version)}/"

    @property
    def audit_url(self) -> str:
        return f"/api/0/organizations/{self.slug}/audit-logs/"

    # factories
    def create_project(self, name: str | None = None, slug: str | None = None) -> dict[str, Any]:
        """Sentry's ``self.create_project(name=...)``."""
        name = name or f"proj-{secrets.token_hex(3)}"
        body = {"name": name, **({"slug": slug} if slug else {})}
        r = self.post(f"{self.url}projects/", body)
        assert r.status_code == 201, r.get_json()
        return r.get_json()  # type: ignore[no-any-return]

    def create_release(
        self, version: str, projects: list[dict[str, Any]] | None = None, **body: Any
    ) -> dict[str, Any]:
        """Sentry's ``Release.objects.create(...)`` + ``add_project``: the organization's
        releases route (``projects=[]`` makes a release of no project)."""
        slugs = [p["slug"] for p in ([self.project] if projects is None else projects)]
        r = self.post(self.releases_url, {"version": version, "projects": slugs, **body})
        assert r.status_code in (201, 208), r.get_json()
        return r.get_json()  # type: ignore[no-any-return]

    def add_repository(self, name: str) -> dict[str, Any]:
        """Sentry's ``Repository.objects.create(name=..., provider="dummy")``: an empty local
        git repository (the only provider eventry has) in the organization's own directory."""
        where = self.services.settings.data_dir / "git" / str(self.id) / name.replace("/", "__")
        where.mkdir(parents=True)
        subprocess.run(["git", "init", "-q", str(where)], check=True)
        r = self.post(f"{self.url}repos/", {"provider": "git", "name": name, "url": where.as_uri()})
        assert r.status_code == 201, r.get_json()
        return r.get_json()  # type: ignore[no-any-return]


def make_org(client: FlaskClient, services: Services, project: str = "Bar") -> Org:
    """Sentry's ``self.organization`` owned by ``self.user``, with ``self.project``."""
    return Org(client, services, make_tenant(services, project=project, scopes=OWNER))


def make_bare_org(client: FlaskClient, services: Services, slug: str | None = None) -> Org:
    """Sentry's ``self.organization`` before any project exists: the organization and its
    owner's token, made with the real commands as ``tests/conftest.py`` makes them."""
    slug = slug or f"org-{secrets.token_hex(4)}"
    org = services.dispatch_with_new_id(
        lambda i: CreateOrganization(i, slug, slug), "organization", OPERATOR
    ).result
    token, token_id = make_token(services, org["id"], OWNER)
    services.engine.catch_up_all()
    return Org(client, services, Tenant(org["id"], org["slug"], 0, "", token, token_id))


@contextmanager
def running(settings: Settings, *features: str) -> Iterator[tuple[FlaskClient, Services]]:
    """The app on ``settings`` with Sentry feature flags on (``with self.feature(...)``); the
    same database, so an organization made under one flag set is there under another."""
    configured = dataclasses.replace(settings, features=frozenset(features))
    migrate(configured)
    svc = bootstrap(configured, create_tables=False)
    svc.start_worker()
    try:
        yield create_app(svc).test_client(), svc
    finally:
        svc.close()


def rebind(org: Org, client: FlaskClient, services: Services) -> Org:
    """The same organization and token, served by another app (other feature flags)."""
    return Org(client, services, org.tenant)


def versions(response: TestResponse) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [r["version"] for r in response.get_json()]
