"""Teams over HTTP, black box, on SQLite and PostgreSQL: creation (slug rules, conflicts, audit),
the list, and projects created for a team (Sentry's own project creation route)."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from infra.bootstrap import Services
from tests.conftest import Tenant, make_token

OWNER = ("org:read", "org:write", "org:admin", "project:read", "project:write", "project:admin", "team:write")


def teams_url(t: Tenant) -> str:
    return f"/api/0/organizations/{t.org_slug}/teams/"


def owner_token(services: Services, t: Tenant) -> str:
    return make_token(services, t.org_id, OWNER)[0]


def create_team(client: FlaskClient, t: Tenant, token: str, body: Any) -> Any:
    return client.post(teams_url(t), json=body, headers=t.headers(token))


def test_a_team_from_its_slug_or_its_name(client: FlaskClient, tenant: Tenant, services: Services) -> None:
    token = owner_token(services, tenant)
    r = create_team(client, tenant, token, {"slug": "backend"})
    assert r.status_code == 201, r.get_json()
    team = r.get_json()
    assert team["slug"] == team["name"] == "backend"
    assert team["id"].isdigit() and team["dateCreated"].endswith("Z")
    assert team["isMember"] is False and team["memberCount"] == 0
    assert team["avatar"] == {"avatarType": "letter_avatar", "avatarUuid": None}
    named = create_team(client, tenant, token, {"name": "Front End Folks"}).get_json()
    assert (named["slug"], named["name"]) == ("front-end-folks", "Front End Folks")
    again = create_team(client, tenant, token, {"name": "Front End Folks"})
    assert again.status_code == 201 and again.get_json()["slug"].startswith("front-end-folks-")


def test_team_errors_are_sentrys(client: FlaskClient, tenant: Tenant, services: Services) -> None:
    token = owner_token(services, tenant)
    assert create_team(client, tenant, token, {"slug": "taken"}).status_code == 201
    conflict = create_team(client, tenant, token, {"slug": "taken"})
    assert conflict.status_code == 409
    message = "A team with this slug already exists."
    assert conflict.get_json() == {"non_field_errors": [message], "detail": message}
    for body, expected in (
        ({}, {"non_field_errors": ["Name or slug is required"]}),
        ({"name": ""}, {"non_field_errors": ["Name or slug is required"]}),
        ({"slug": "Upper"}, {"slug": [
            "Enter a valid slug consisting of lowercase letters, numbers, underscores or hyphens. "
            "It cannot be entirely numeric."
        ]}),
        ({"slug": "x" * 51}, {"slug": ["Ensure this field has no more than 50 characters."]}),
        ({"name": "n" * 65}, {"name": ["Ensure this field has no more than 64 characters."]}),
    ):  # fmt: skip
        r = create_team(client, tenant, token, body)
        assert (r.status_code, r.get_json()) == (400, expected), body
    read_only = make_token(services, tenant.org_id, ("org:read",))[0]
    assert create_team(client, tenant, read_only, {"slug": "nope"}).status_code == 403


def test_teams_are_listed_and_audited(client: FlaskClient, tenant: Tenant, services: Services) -> None:
    token = owner_token(services, tenant)
    for slug in ("zeta", "alpha"):
        assert create_team(client, tenant, token, {"slug": slug}).status_code == 201
    listed = client.get(teams_url(tenant), headers=tenant.headers(token)).get_json()
    assert [t["slug"] for t in listed] == ["alpha", "zeta"]
    assert all(t["projects"] == [] for t in listed)
    brief = client.get(teams_url(tenant) + "?detailed=0", headers=tenant.headers(token)).get_json()
    assert "projects" not in brief[0]
    found = client.get(teams_url(tenant) + "?query=alp", headers=tenant.headers(token)).get_json()
    assert [t["slug"] for t in found] == ["alpha"]
    rows = client.get(
        f"/api/0/organizations/{tenant.org_slug}/audit-logs/?event=team.create", headers=tenant.headers(token)
    ).get_json()["rows"]
    assert sorted(r["data"]["slug"] for r in rows) == ["alpha", "zeta"]
    assert rows[0]["note"] == "created team alpha"
    other = Tenant(0, "elsewhere", 0, "", token, 0)
    assert client.get(teams_url(other), headers=tenant.headers(token)).status_code == 404


def test_a_project_of_a_team(client: FlaskClient, tenant: Tenant, services: Services) -> None:
    token = owner_token(services, tenant)
    team = create_team(client, tenant, token, {"slug": "mobile", "name": "Mobile"}).get_json()
    r = client.post(
        f"/api/0/teams/{tenant.org_slug}/mobile/projects/",
        json={"name": "Android App", "platform": "android"},
        headers=tenant.headers(token),
    )
    assert r.status_code == 201, r.get_json()
    project = r.get_json()
    assert (project["slug"], project["platform"]) == ("android-app", "android")
    details = client.get(
        f"/api/0/projects/{tenant.org_slug}/android-app/", headers=tenant.headers(token)
    ).get_json()
    ref = {"id": team["id"], "slug": "mobile", "name": "Mobile"}
    assert details["team"] == ref and details["teams"] == [ref]
    listed = client.get(teams_url(tenant), headers=tenant.headers(token)).get_json()
    assert [p["slug"] for p in listed[0]["projects"]] == ["android-app"]
    audit = client.get(
        f"/api/0/organizations/{tenant.org_slug}/audit-logs/?event=project.create",
        headers=tenant.headers(token),
    ).get_json()["rows"]
    assert audit[0]["data"]["slug"] == "android-app"  # newest first
    duplicate = client.post(
        f"/api/0/teams/{tenant.org_slug}/mobile/projects/",
        json={"name": "Again", "slug": "android-app"},
        headers=tenant.headers(token),
    )
    assert duplicate.status_code == 409
    assert duplicate.get_json() == {"detail": "A project with this slug already exists."}
    missing = client.post(
        f"/api/0/teams/{tenant.org_slug}/nobody/projects/", json={"name": "x"}, headers=tenant.headers(token)
    )
    assert missing.status_code == 404
    plain = client.get(
        f"/api/0/projects/{tenant.org_slug}/{tenant.project_slug}/", headers=tenant.headers(token)
    ).get_json()
    assert plain["team"] is None and plain["teams"] == []
