"""The operator console over HTTP (the browser tests drive it in Chromium): signing in, CSRF,
tenant isolation, the audit page and its live tail, the event log and a project as of a
position, the projections page and a rebuild, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from flask.testing import FlaskClient

from api.console import audit as console_audit
from commands import InvalidCommand
from commands.organizations import OPERATOR_SCOPE, CreateApiToken
from commands.project_keys import CreateProjectKey
from infra import draws, tokens
from infra.bootstrap import Services
from tests.conftest import OPERATOR, Tenant, block_metric, make_tenant, make_token

MRI = "c:custom/console@none"


def csrf(client: FlaskClient) -> str:
    html = client.get("/console/", follow_redirects=True).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html
    return found[1]


def sign_in(client: FlaskClient, token: str) -> Any:
    return client.post("/console/login", data={"token": token, "csrf_token": csrf(client)})


def post(client: FlaskClient, path: str) -> Any:
    """A console form's POST, with its CSRF token."""
    return client.post(path, data={"csrf_token": csrf(client)})


def block(client: FlaskClient, t: Tenant, mri: str = MRI) -> int:
    return block_metric(client, t, mri)


def operator_token(svc: Services, t: Tenant) -> str:
    token = tokens.generate()
    svc.dispatch(
        CreateApiToken(t.org_id, tokens.hash_token(token), token[-4:], "ops", ("org:read",), operator=True),
        OPERATOR,
    )
    return token


def page(client: FlaskClient, path: str) -> str:
    r = client.get(path)
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.get_data(as_text=True)


def test_nothing_is_shown_without_signing_in(client: FlaskClient, tenant: Tenant) -> None:
    block(client, tenant)
    org = tenant.org_slug
    for path in (f"/console/{org}/audit/", f"/console/{org}/log/", "/console/projections/"):
        r = client.get(path)
        assert (r.status_code, r.headers["Location"]) == (302, "/console/"), path
    for path in (f"/console/{org}/audit/tail", "/console/projections/audit_log/progress"):
        r = client.get(path, headers={"Accept": "text/event-stream"})
        assert r.status_code == 401 and MRI not in r.get_data(as_text=True)
    r = client.get(f"/console/{org}/audit/", headers={"HX-Request": "true"})
    assert r.status_code == 401
    assert "Sign in" in page(client, "/console/") and MRI not in page(client, "/console/")


def test_sign_in_keeps_a_signed_http_only_cookie_and_checks_csrf(client: FlaskClient, tenant: Tenant) -> None:
    r = client.post("/console/login", data={"token": tenant.token})  # no CSRF token
    assert r.status_code == 400 and client.get(f"/console/{tenant.org_slug}/audit/").status_code == 302
    r = sign_in(client, tenant.token + "x")
    assert r.status_code == 401 and "not valid" in r.get_data(as_text=True)
    r = sign_in(client, tenant.token)
    assert (r.status_code, r.headers["Location"]) == (303, "/console/")
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console" in cookie
    assert tenant.token not in cookie and tokens.hash_token(tenant.token) not in cookie  # signed, compressed
    assert client.get("/console/").headers["Location"] == f"/console/{tenant.org_slug}/audit/"
    assert client.post("/console/logout").status_code == 400  # CSRF here too
    assert post(client, "/console/logout").status_code == 303
    assert client.get(f"/console/{tenant.org_slug}/audit/").status_code == 302


def test_the_audit_page_lists_and_filters_newest_first(client: FlaskClient, services: Services) -> None:
    t = make_tenant(services)
    block(client, t, "c:custom/first@none")
    block(client, t, "c:custom/second@none")
    sign_in(client, t.token)
    html = page(client, f"/console/{t.org_slug}/audit/")  # reads its own writes: no wait
    assert (
        html.index("c:custom/second@none")
        < html.index("c:custom/first@none")
        < html.index("<code>project.create</code>")
    )
    only = page(client, f"/console/{t.org_slug}/audit/?event=metric.block&start=2020-01-01T00:00")
    assert only.count('<tr id="entry-') == 2 and "<code>project.create</code>" not in only
    fragment = client.get(f"/console/{t.org_slug}/audit/?event=project.create", headers={"HX-Request": "1"})
    assert (
        "<html" not in fragment.get_data(as_text=True)
        and fragment.get_data(as_text=True).count("<tr id=") == 1
    )
    assert client.get(f"/console/{t.org_slug}/audit/?actor=x").status_code == 400  # the API's own checks


def test_another_organizations_pages_are_not_found(client: FlaskClient, services: Services) -> None:
    mine, theirs = make_tenant(services), make_tenant(services)
    block(client, theirs)
    sign_in(client, mine.token)
    for path in (
        f"/console/{theirs.org_slug}/audit/",
        f"/console/{theirs.org_slug}/audit/tail",
        f"/console/{theirs.org_slug}/log/",
        f"/console/{theirs.org_slug}/log/projects/{theirs.project_slug}/",
        f"/console/{mine.org_slug}/log/projects/{theirs.project_id}/",
        "/console/no-such-org/audit/",
    ):
        r = client.get(path)
        assert r.status_code == 404 and MRI not in r.get_data(as_text=True), path
    sign_in(client, theirs.token)  # their stream, under my organization's path: not found
    their_stream = re.search(r"/log/streams/([0-9a-f-]+)/", page(client, f"/console/{theirs.org_slug}/log/"))
    assert their_stream
    sign_in(client, mine.token)
    assert client.get(f"/console/{mine.org_slug}/log/streams/{their_stream[1]}/").status_code == 404
    reader, _ = make_token(services, mine.org_id, ("project:read",))
    sign_in(client, reader)
    assert client.get(f"/console/{mine.org_slug}/audit/").status_code == 403  # the API's scopes: org:write


def test_the_log_shows_payloads_and_a_project_as_of_any_position(
    client: FlaskClient, services: Services
) -> None:
    t = make_tenant(services)
    services.dispatch_with_new_id(
        lambda i: CreateProjectKey(t.project_id, draws.new_key(i), "console"),
        "project_key_snowflake_key",
        OPERATOR,
    )
    before = services.store.head()
    after = block(client, t)
    sign_in(client, t.token)
    log = page(client, f"/console/{t.org_slug}/log/")
    assert "metrics.MetricBlocked" in log and MRI in log and tokens.hash_token(t.token) not in log
    assert 'id="chart-data"' in log and "metrics.MetricBlocked.v2" in page(
        client, f"/console/{t.org_slug}/log/?topic=metrics.MetricBlocked.v2"
    )
    base = f"/console/{t.org_slug}/log/projects/{t.project_slug}/"
    assert MRI not in page(client, f"{base}?at={before}").split('id="options"')[1]
    now = page(client, f"{base}?at={after}&from={before}")
    diff = now.split('id="diff"')[1].split("</pre>")[0]
    assert "+" in diff and MRI in diff and "deniedNames" in diff  # options and the relay config changed
    assert "&#34;publicKey&#34;" in now.split('id="relay-title"')[1]


def test_the_live_tail_streams_new_entries_and_ends(
    client: FlaskClient, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = make_tenant(services)
    # the operator's commands (no token of theirs to wait for): their entries are there first
    assert services.engine.wait(services.store.head(), ["audit_log"], timeout=10)
    sign_in(client, t.token)
    newest = int(re.findall(r'id="entry-(\d+)"', page(client, f"/console/{t.org_slug}/audit/"))[0])
    monkeypatch.setattr(console_audit, "TAIL_SECONDS", 1.5)
    block(client, t)
    started = time.monotonic()
    r = client.get(f"/console/{t.org_slug}/audit/tail?after={newest}", buffered=False)
    assert r.mimetype == "text/event-stream"
    body = "".join(chunk.decode() for chunk in r.response)  # type: ignore[attr-defined]
    assert time.monotonic() - started < 10  # bounded: EventSource reconnects with Last-Event-ID
    assert body.startswith("retry: 1000") and "event: entry" in body and MRI in body
    last = re.findall(r"^id: (\d+)$", body, re.M)[-1]
    resumed = client.get(f"/console/{t.org_slug}/audit/tail", headers={"Last-Event-ID": last})
    assert "event: entry" not in resumed.get_data(as_text=True)


def test_projections_page_and_a_rebuild_by_an_operator(client: FlaskClient, services: Services) -> None:
    t = make_tenant(services)
    sign_in(client, t.token)
    html = page(client, "/console/projections/")
    for name in services.engine.projections:
        assert f'id="view-{name}"' in html
    assert "Rebuild audit_log" not in html
    assert post(client, "/console/projections/audit_log/rebuild").status_code == 403
    with pytest.raises(InvalidCommand, match=OPERATOR_SCOPE):  # what an API route that forwards scopes gets
        make_token(services, t.org_id, ("org:read", OPERATOR_SCOPE))
    sign_in(client, operator_token(services, t))
    assert "Rebuild audit_log" in page(client, "/console/projections/")
    generation = next(s.generation for s in services.engine.status() if s.name == "audit_log")
    r = post(client, "/console/projections/audit_log/rebuild")
    assert r.status_code == 303
    deadline = time.monotonic() + 60
    while (r := client.get("/console/projections/audit_log/progress")).status_code != 286:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert f"generation {generation + 1} is live" in r.get_data(as_text=True)
    assert post(client, "/console/projections/audit_log/retry").status_code == 303
