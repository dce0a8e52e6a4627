"""Sentry's org auth token routes, and what revocation and expiry do to any token: Sentry's
401s, at once in the process that revoked, within the lookup cache's lifetime in others."""

from __future__ import annotations

import json
from base64 import b64decode
from datetime import UTC, datetime, timedelta
from typing import Any

from flask.testing import FlaskClient

from api.app import create_app
from commands.organizations import CreateApiToken
from commands.tokens import RevokeApiToken
from infra import tokens
from infra.bootstrap import Services, bootstrap
from tests.conftest import OPERATOR, Tenant, make_tenant, make_token

RELEASES = "/api/0/organizations/{}/releases/"


def tokens_url(t: Tenant, token_id: object = None) -> str:
    base = f"/api/0/organizations/{t.org_slug}/org-auth-tokens/"
    return base if token_id is None else f"{base}{token_id}/"


def create(client: FlaskClient, t: Tenant, name: Any = "ci") -> Any:
    r = client.post(tokens_url(t), json={"name": name}, headers=t.headers())
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def test_create_answers_the_secret_once_in_sentrys_shape(client: FlaskClient, tenant: Tenant) -> None:
    body = create(client, tenant, "deploys")
    secret = body.pop("token")
    assert body == {
        "id": body["id"],
        "name": "deploys",
        "scopes": ["org:ci"],
        "tokenLastCharacters": secret[-4:],
        "dateCreated": body["dateCreated"],
        "dateLastUsed": None,
        "projectLastUsedId": None,
    }
    assert body["id"].isdigit() and body["dateCreated"].endswith("Z")
    # sntrys_<base64 JSON>_<secret>: what sentry-cli reads the server and organization from
    assert secret.startswith("sntrys_") and secret.count("_") == 2
    payload = json.loads(b64decode(secret[len("sntrys_") : secret.rindex("_")]))
    assert payload["org"] == tenant.org_slug and payload["url"] == payload["region_url"] and payload["iat"]
    listed = client.get(tokens_url(tenant), headers=tenant.headers()).get_json()
    assert [t["id"] for t in listed] == [body["id"]] and "token" not in listed[0]
    assert client.get(tokens_url(tenant, body["id"]), headers=tenant.headers()).get_json() == body


def test_an_org_auth_token_works_with_org_ci_and_records_its_last_use(
    client: FlaskClient, tenant: Tenant
) -> None:
    body = create(client, tenant)
    ci = {"Authorization": f"Bearer {body['token']}"}
    assert client.get(RELEASES.format(tenant.org_slug), headers=ci).status_code == 200
    assert client.get(tokens_url(tenant), headers=ci).status_code == 403  # org:ci only
    used = client.get(tokens_url(tenant, body["id"]), headers=tenant.headers()).get_json()["dateLastUsed"]
    assert used is not None and datetime.fromisoformat(used) > datetime.now(UTC) - timedelta(minutes=1)


def test_the_list_holds_only_live_org_auth_tokens_of_the_organization_in_sentrys_order(
    client: FlaskClient, services: Services, tenant: Tenant
) -> None:
    other = make_tenant(services)
    create(client, other, "elsewhere")
    b, a, c = (create(client, tenant, name) for name in ("b", "a", "c"))
    gone = create(client, tenant, "revoked")
    assert client.delete(tokens_url(tenant, gone["id"]), headers=tenant.headers()).status_code == 204
    used = client.get(RELEASES.format(tenant.org_slug), headers={"Authorization": f"Bearer {c['token']}"})
    assert used.status_code == 200
    r = client.get(tokens_url(tenant), headers=tenant.headers())
    assert r.headers["Cache-Control"] == "max-age=0, no-cache, no-store, must-revalidate, private"
    # last used first (c), the never used ones by name; the tenant's own (user) token is not here
    assert [t["name"] for t in r.get_json()] == ["c", "a", "b"]
    assert {a["id"], b["id"]} < {t["id"] for t in r.get_json()}


def test_names_are_checked_as_sentry_checks_them(client: FlaskClient, tenant: Tenant) -> None:
    blank = {"detail": "The name cannot be blank."}
    for body in ({}, {"name": ""}, {"name": None}):
        r = client.post(tokens_url(tenant), json=body, headers=tenant.headers())
        assert (r.status_code, r.get_json()) == (400, blank)
    r = client.post(tokens_url(tenant), json={"name": "a" * 256}, headers=tenant.headers())
    assert (r.status_code, r.get_json()) == (
        400,
        {"detail": "The name cannot be longer than 255 characters."},
    )
    r = client.post(tokens_url(tenant), json={"name": 5}, headers=tenant.headers())
    assert r.status_code == 400
    assert create(client, tenant, "a" * 255)["name"] == "a" * 255


def test_rename(client: FlaskClient, tenant: Tenant) -> None:
    token_id = create(client, tenant, "old")["id"]
    r = client.put(tokens_url(tenant, token_id), json={"name": "new"}, headers=tenant.headers())
    assert r.status_code == 204 and r.get_data() == b""
    r = client.put(tokens_url(tenant, token_id), json={"name": ""}, headers=tenant.headers())
    assert (r.status_code, r.get_json()) == (400, {"detail": "The name cannot be blank."})
    assert client.get(tokens_url(tenant, token_id), headers=tenant.headers()).get_json()["name"] == "new"


def test_missing_and_foreign_tokens(client: FlaskClient, services: Services, tenant: Tenant) -> None:
    other = make_tenant(services)
    theirs = create(client, other)["id"]
    mine = create(client, tenant)["id"]
    not_found = {"detail": "The requested resource does not exist"}
    for token_id in (theirs, "999999", "x", tenant.token_id):  # the last: a user token, not an org one
        for method in ("GET", "PUT", "DELETE"):
            r = client.open(
                tokens_url(tenant, token_id), method=method, json={"name": "n"}, headers=tenant.headers()
            )
            assert (r.status_code, r.get_json()) == (404, not_found), (method, token_id)
    r = client.get(tokens_url(other, theirs), headers=tenant.headers())
    assert r.status_code == 403
    assert client.get(tokens_url(tenant, mine)).status_code == 401


def test_delete_needs_org_write_and_revokes(client: FlaskClient, services: Services, tenant: Tenant) -> None:
    body = create(client, tenant, "doomed")
    ci = {"Authorization": f"Bearer {body['token']}"}
    assert client.get(RELEASES.format(tenant.org_slug), headers=ci).status_code == 200  # cached now
    reader, _ = make_token(services, tenant.org_id, ("org:read",))
    r = client.delete(tokens_url(tenant, body["id"]), headers=tenant.headers(reader))
    assert r.status_code == 403
    assert client.delete(tokens_url(tenant, body["id"]), headers=tenant.headers()).status_code == 204
    # at once in this process, although its principal was cached a moment ago
    r = client.get(RELEASES.format(tenant.org_slug), headers=ci)
    assert (r.status_code, r.get_json()) == (401, {"detail": "Invalid org token"})
    assert client.get(tokens_url(tenant, body["id"]), headers=tenant.headers()).status_code == 404
    assert client.delete(tokens_url(tenant, body["id"]), headers=tenant.headers()).status_code == 404
    log = client.get(
        f"/api/0/organizations/{tenant.org_slug}/audit-logs/", headers=tenant.headers()
    ).get_json()
    entries = [
        (e["event"], e["targetObject"], e["data"], e["note"])
        for e in log["rows"]
        if e["event"].startswith("org-auth-token.") and e["targetObject"] == int(body["id"])
    ]
    scopes = {"name": "doomed", "scopes": ["org:ci"]}
    assert entries == [
        ("org-auth-token.remove", int(body["id"]), scopes, "removed org auth token doomed"),
        ("org-auth-token.create", int(body["id"]), scopes, "added org auth token doomed"),
    ]


def test_another_process_sees_a_revocation_once_its_cached_lookup_expires(
    client: FlaskClient, services: Services, tenant: Tenant
) -> None:
    other_services = bootstrap(services.settings, create_tables=False)
    try:
        other = create_app(other_services).test_client()
        ticks = [0.0]
        other_services.lookups.principals.clock = lambda: ticks[0]
        url = f"/api/0/organizations/{tenant.org_slug}/"
        assert other.get(url, headers=tenant.headers()).status_code == 200  # its principal cached there
        revoke_user_token(services, tenant)
        assert client.get(url, headers=tenant.headers()).status_code == 401
        assert other.get(url, headers=tenant.headers()).status_code == 200  # within the cache's lifetime
        ticks[0] += services.settings.lookup_cache_seconds
        r = other.get(url, headers=tenant.headers())
        assert (r.status_code, r.get_json()) == (401, {"detail": "Invalid token"})
    finally:
        other_services.close()


def revoke_user_token(services: Services, t: Tenant) -> None:
    services.dispatch(RevokeApiToken(t.org_id, t.token_id, tokens.hash_token(t.token)), OPERATOR)


def test_an_expired_token_is_refused_as_sentry_does(
    client: FlaskClient, services: Services, tenant: Tenant
) -> None:
    secret = tokens.generate()
    live = services.dispatcher.clock
    services.dispatcher.clock = lambda: live() - timedelta(hours=2)  # made two hours ago, for one
    try:
        command = CreateApiToken(
            tenant.org_id, tokens.hash_token(secret), secret[-4:], "short", ("org:read",), expires_in=3600
        )
        services.dispatch(command, OPERATOR)
    finally:
        services.dispatcher.clock = live
    fresh, _ = make_token(services, tenant.org_id, ("org:read",))
    url = f"/api/0/organizations/{tenant.org_slug}/"
    r = client.get(url, headers=tenant.headers(secret))
    assert (r.status_code, r.get_json()) == (401, {"detail": "Token expired"})
    assert client.get(url, headers=tenant.headers(fresh)).status_code == 200
