"""Every ``/api/0`` route that names an organization declares the scopes it accepts, and for
every one of them, in the order of Sentry's permission classes: a token with every scope but
those gets 403 (before any lookup, so also for an organization that does not exist), an
organization that does not exist is 404, a token of another organization gets 403 (Sentry's
``NoAccess``), and a token with just one of the scopes gets past authorization."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from commands.organizations import SCOPES
from commands.project_keys import CreateProjectKey
from infra import draws
from infra.bootstrap import Services
from tests.conftest import OPERATOR, Tenant, make_tenant, make_token

PLACEHOLDERS = {"version": "1.0.0", "issue_id": "1"}


def organization_routes(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, method, rule) of every route with an organization in its path."""
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/0/") and any(arg.startswith("org") for arg in rule.arguments):
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                routes.append((rule.endpoint, method, rule.rule))
    return routes


def path_for(app: Flask, endpoint: str, method: str, t: Tenant, key: str) -> str:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    known = {"org_slug": t.org_slug, "project_slug": t.project_slug, "key_id": key}
    values = {arg: known.get(arg, PLACEHOLDERS.get(arg, "x")) for arg in rule.arguments}
    return app.url_map.bind("localhost").build(endpoint, values, method=method)


def call(client: FlaskClient, method: str, path: str, token: str) -> Any:
    body = {"json": {}} if method in ("POST", "PUT") else {}
    return client.open(path, method=method, headers={"Authorization": f"Bearer {token}"}, **body)


def tenant_with_key(services: Services) -> tuple[Tenant, str]:
    t = make_tenant(services)
    key = services.dispatch_with_new_id(
        lambda i: CreateProjectKey(t.project_id, draws.new_key(i), "matrix"),
        "project_key_snowflake_key",
        OPERATOR,
    ).result.public_key
    services.engine.catch_up_all()
    return t, key


def test_every_organization_route_declares_its_scopes(client: FlaskClient) -> None:
    app = client.application
    undeclared = [
        f"{method} {rule}"
        for endpoint, method, rule in organization_routes(app)
        if getattr(app.view_functions[endpoint], "required_scopes", None) is None
    ]
    assert undeclared == [], "decorate these routes with @context.requires(...)"
    assert len(organization_routes(app)) >= 20


NO_PERMISSION = {"detail": "You do not have permission to perform this action."}
NOT_FOUND = {"detail": "The requested resource does not exist"}


def test_the_matrix(client: FlaskClient, services: Services) -> None:
    app = client.application
    outsider = make_tenant(services, scopes=SCOPES)
    for endpoint, method, rule in organization_routes(app):
        accepted = app.view_functions[endpoint].required_scopes
        t, key = tenant_with_key(services)
        path = path_for(app, endpoint, method, t, key)
        nowhere = path_for(app, endpoint, method, replace(t, org_slug="no-such-org"), key)
        label = f"{method} {rule}"

        foreign = call(client, method, path, outsider.token)
        assert (foreign.status_code, foreign.get_json()) == (403, NO_PERMISSION), label
        missing = call(client, method, nowhere, outsider.token)
        assert (missing.status_code, missing.get_json()) == (404, NOT_FOUND), label
        others = tuple(s for s in SCOPES if s not in accepted)
        without, _ = make_token(services, t.org_id, others)
        for target in (path, nowhere):
            refused = call(client, method, target, without)
            assert (refused.status_code, refused.get_json()) == (403, NO_PERMISSION), label
        for scope in accepted:
            just_one, _ = make_token(services, t.org_id, (scope,))
            assert call(client, method, path, just_one).status_code not in (401, 403), f"{label} with {scope}"


@pytest.mark.parametrize("header", [None, "Bearer nope", "Basic abc"])
def test_missing_or_bad_credentials_are_401(client: FlaskClient, tenant: Tenant, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = client.get(f"/api/0/organizations/{tenant.org_slug}/", headers=headers)
    assert response.status_code == 401
