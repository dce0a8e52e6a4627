"""Releases through HTTP, black box, on SQLite and PostgreSQL: the rows of sentry-behaviour 4."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient

from infra.bootstrap import Services
from tests.conftest import Tenant, make_tenant, make_token

RELEASES = ("project:releases",)


@pytest.fixture
def t(services: Services) -> Tenant:
    return make_tenant(services, scopes=("project:releases", "project:write", "org:write", "event:write"))


def org_url(t: Tenant, tail: str = "") -> str:
    return f"/api/0/organizations/{t.org_slug}/releases/{tail}"


def project_url(t: Tenant, tail: str = "") -> str:
    return f"/api/0/projects/{t.org_slug}/{t.project_slug}/releases/{tail}"


def create(client: FlaskClient, t: Tenant, body: dict[str, Any], token: str | None = None) -> Any:
    return client.post(org_url(t), json={"projects": [t.project_slug], **body}, headers=t.headers(token))


def details(client: FlaskClient, t: Tenant, version: str) -> Any:
    return client.get(org_url(t, f"{quote(version, safe='')}/"), headers=t.headers())


def put(client: FlaskClient, t: Tenant, version: str, body: dict[str, Any]) -> Any:
    return client.put(org_url(t, f"{quote(version, safe='')}/"), json=body, headers=t.headers())


def fresh(client: FlaskClient, t: Tenant, path: str, position: str) -> Any:
    return client.get(path, headers=t.headers(**{"X-Eventry-Min-Position": position}))


# sentry-behaviour 4.2: Release.is_valid_version and the serializer's max length
@pytest.mark.parametrize(
    ("version", "error"),
    [
        ("", "This field may not be blank."),
        ("   ", None),
        ("\t", None),
        ("\n", None),
        ("a\nb", None),
        ("foo/bar", None),
        ("a\\b", None),
        (".", None),
        ("..", None),
        ("latest", None),
        ("LATEST", None),
        ("x" * 201, "Ensure this field has no more than 200 characters."),
    ],
)
def test_invalid_versions_are_refused_and_change_nothing(
    client: FlaskClient, t: Tenant, version: str, error: str | None
) -> None:
    error = error or f"Release with name {version} is not allowed"
    r = create(client, t, {"version": version})
    assert r.status_code == 400
    assert r.get_json() == {"version": [error]}
    r = client.post(project_url(t), json={"version": version}, headers=t.headers())
    assert r.status_code == 400 and r.get_json() == {"version": [error]}
    listed = fresh(client, t, org_url(t), r.headers.get("X-Eventry-Position", "0"))
    assert listed.get_json() == []


@pytest.mark.parametrize("version", ["1.2.3+dev", "1.2.1 (123)", "x" * 65, "x" * 200, " 1.0", "1.0 "])
def test_valid_versions_are_created_and_addressable(client: FlaskClient, t: Tenant, version: str) -> None:
    r = create(client, t, {"version": version})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["version"] == version
    got = details(client, t, version)
    assert got.status_code == 200 and got.get_json()["version"] == version


def test_plus_in_a_path_is_a_plus_not_a_space(client: FlaskClient, t: Tenant) -> None:
    assert create(client, t, {"version": "my-app@1.0.0+build.1"}).status_code == 201
    assert client.get(org_url(t, "my-app@1.0.0%2Bbuild.1/"), headers=t.headers()).status_code == 200
    assert client.get(org_url(t, "my-app@1.0.0%20build.1/"), headers=t.headers()).status_code == 404


def test_project_release_post_table(client: FlaskClient, services: Services, t: Tenant) -> None:
    """4.4: 201 new; 208 same project again; 201 when an org release is attached to a new project."""
    r = client.post(project_url(t), json={"version": "1.0"}, headers=t.headers())
    assert r.status_code == 201
    body = r.get_json()
    assert body["dateCreated"].endswith("Z") and body["projects"][0]["slug"] == t.project_slug
    r = client.post(project_url(t), json={"version": "1.0"}, headers=t.headers())
    assert r.status_code == 208
    other = client.post(
        f"/api/0/organizations/{t.org_slug}/releases/",
        json={"version": "2.0", "projects": []},
        headers=t.headers(),
    )
    assert other.status_code == 201 and other.get_json()["projects"] == []
    r = client.post(project_url(t), json={"version": "2.0"}, headers=t.headers())
    assert r.status_code == 201
    assert [p["slug"] for p in r.get_json()["projects"]] == [t.project_slug]


def test_organization_release_post_table(client: FlaskClient, services: Services, t: Tenant) -> None:
    """4.5: 201, 208 for the same project, 201 when a new project is linked, 400 for projects
    of another organization or unknown."""
    assert create(client, t, {"version": "1.2.1 (123)"}).status_code == 201
    assert create(client, t, {"version": "1.2.1 (123)"}).status_code == 208
    other = make_tenant(services, project="Other")
    second = client.post(
        org_url(t), json={"version": "1.2.1 (123)", "projects": ["nope"]}, headers=t.headers()
    )
    assert second.status_code == 400 and second.get_json() == {"projects": ["Invalid project ids or slugs"]}
    elsewhere = client.post(
        org_url(t),
        json={"version": "9", "projects": [other.project_slug, str(other.project_id)]},
        headers=t.headers(),
    )
    assert elsewhere.status_code == 400 and elsewhere.get_json() == {
        "projects": ["Invalid project ids or slugs"]
    }
    missing = client.post(org_url(t), json={"version": "9"}, headers=t.headers())
    assert missing.status_code == 400 and missing.get_json() == {"projects": ["This field is required."]}


def test_a_read_only_token_is_refused(client: FlaskClient, services: Services, t: Tenant) -> None:
    token, _ = make_token(services, t.org_id, ("project:read",))
    assert create(client, t, {"version": "1.0"}, token).status_code == 403
    r = client.post(project_url(t), json={"version": "1.0"}, headers=t.headers(token))
    assert r.status_code == 403
    assert client.get(org_url(t), headers=t.headers(token)).status_code == 200


def test_finalize_archive_restore_and_delete(client: FlaskClient, t: Tenant) -> None:
    created = create(client, t, {"version": "3.0"})
    assert created.get_json()["dateReleased"] is None and created.get_json()["status"] == "open"
    r = put(client, t, "3.0", {"dateReleased": "2026-11-23T09:37:11.538668554Z"})
    assert r.status_code == 200 and r.get_json()["dateReleased"] == "2026-11-23T09:37:11.538668Z"
    archived = create(client, t, {"version": "3.0", "projects": [], "status": "archived"})
    assert archived.status_code == 208 and archived.get_json()["status"] == "archived"
    listed = fresh(client, t, org_url(t), archived.headers["X-Eventry-Position"]).get_json()
    assert [r["version"] for r in listed] == []
    archived_list = fresh(client, t, org_url(t) + "?status=archived", archived.headers["X-Eventry-Position"])
    assert [r["version"] for r in archived_list.get_json()] == ["3.0"]
    restored = create(client, t, {"version": "3.0", "projects": [], "status": "open"})
    assert restored.get_json()["status"] == "open"
    bad = put(client, t, "3.0", {"status": "gone"})
    assert bad.status_code == 400 and bad.get_json() == {"status": ["Invalid status gone"]}
    deleted = client.delete(org_url(t, "3.0/"), headers=t.headers())
    assert deleted.status_code == 204
    assert details(client, t, "3.0").status_code == 404
    assert put(client, t, "3.0", {"ref": "x"}).status_code == 404


def test_a_release_an_issue_was_first_seen_in_is_not_deleted(client: FlaskClient, t: Tenant) -> None:
    create(client, t, {"version": "5.0"})
    issue = client.post(
        f"/api/0/projects/{t.org_slug}/{t.project_slug}/issues/",
        json={"title": "Boom", "firstRelease": "5.0"},
        headers=t.headers(),
    )
    assert issue.status_code == 201
    r = client.delete(org_url(t, "5.0/"), headers=t.headers())
    assert r.status_code == 400
    assert r.get_json() == {"detail": "This release is referenced by active issues and cannot be removed."}
    assert details(client, t, "5.0").status_code == 200


def test_release_activity_is_recorded_once(client: FlaskClient, services: Services, t: Tenant) -> None:
    from projections import release_queries

    r = client.post(
        project_url(t), json={"version": "4.0", "dateReleased": "2026-01-01T00:00:00Z"}, headers=t.headers()
    )
    assert r.status_code == 201
    r = client.post(
        project_url(t), json={"version": "4.0", "dateReleased": "2026-01-02T00:00:00Z"}, headers=t.headers()
    )
    assert r.status_code == 208
    services.engine.wait(int(r.headers["X-Eventry-Position"]), ["releases"])
    with services.engine.read("releases") as view:
        activity = release_queries.release_activity(view, t.project_id)
    assert [(a["type"], a["data"]) for a in activity] == [("release", {"version": "4.0"})]


def deploy(client: FlaskClient, t: Tenant, body: dict[str, Any]) -> Any:
    return client.post(
        org_url(t, "1.0/deploys/"), json={"environment": "production", **body}, headers=t.headers()
    )


def test_deploy_projects_by_slug_or_id_and_sentrys_refusals(client: FlaskClient, t: Tenant) -> None:
    assert create(client, t, {"version": "1.0"}).status_code == 201
    for given in ([t.project_id], [str(t.project_id)], [t.project_slug]):
        assert deploy(client, t, {"projects": given}).status_code == 201, given
    for given, body in (
        ([], {"projects": ["This list may not be empty."]}),
        (None, {"projects": ["This field may not be null."]}),
        (["nope"], {"projects": ["Invalid project"]}),
        (["²"], {"projects": ["Invalid project"]}),
        (["9" * 40], {"projects": ["Invalid project"]}),
        ([True], {"projects": ["Invalid project"]}),
    ):
        r = deploy(client, t, {"projects": given})
        assert (r.status_code, r.get_json()) == (400, body), given
    # Three deploys to one environment of one project: the list shows the last (Sentry's
    # ReleaseProjectEnvironment.last_deploy_id).
    listed = client.get(org_url(t, "1.0/deploys/"), headers=t.headers()).get_json()
    assert len(listed) == 1 and details(client, t, "1.0").get_json()["deployCount"] == 3


@pytest.mark.parametrize(
    ("project", "status", "body"),
    [
        ("\u00b2", 400, {"detail": "Invalid project parameter. Values must be numbers."}),
        ("x", 400, {"detail": "Invalid project parameter. Values must be numbers."}),
        ("1" * 5000, 400, {"detail": "Invalid project parameter. Values must be numbers."}),
        ("12345", 403, {"detail": "You do not have permission to perform this action."}),
    ],
)
def test_project_parameter_as_sentry_reads_it(
    client: FlaskClient, t: Tenant, project: str, status: int, body: dict[str, Any]
) -> None:
    assert create(client, t, {"version": "1.0"}).status_code == 201
    for path in (org_url(t), org_url(t, "1.0/"), org_url(t, "1.0/deploys/")):
        r = client.get(path, query_string={"project": project}, headers=t.headers())
        assert (r.status_code, r.get_json()) == (status, body), path


def listed(client: FlaskClient, t: Tenant, path: str, **query: Any) -> list[str]:
    response = client.get(path, query_string=query, headers=t.headers())
    assert response.status_code == 200, response.get_json()
    return [r["version"] for r in response.get_json()]


def test_release_search_sorts_and_stats(client: FlaskClient, t: Tenant) -> None:
    for version in ("app@1.0.0+7", "app@2.0.0-rc1", "app@2.0.0", "other"):
        assert create(client, t, {"version": version}).status_code == 201
    assert listed(client, t, org_url(t), query="semver:>=2.0.0-rc1") == ["app@2.0.0", "app@2.0.0-rc1"]
    not_two = "!release:[app@2.0.0,app@2.0.0-rc1]"
    assert listed(client, t, org_url(t), query=not_two) == ["other", "app@1.0.0+7"]
    assert listed(client, t, org_url(t), query="1.0.0 (7)") == ["app@1.0.0+7"]
    by_semver = ["app@2.0.0", "app@2.0.0-rc1", "app@1.0.0+7", "other"]  # no semver last
    assert listed(client, t, org_url(t), sort="semver") == by_semver
    assert listed(client, t, org_url(t), sort="build") == ["app@1.0.0+7"]
    assert listed(client, t, org_url(t), sort="sessions", flatten="1") == listed(client, t, org_url(t))
    assert listed(client, t, org_url(t, "stats/"), query="release:app@2*") == ["app@2.0.0", "app@2.0.0-rc1"]
    assert listed(client, t, org_url(t), start="2000-01-01T00:00:00Z", end="2000-01-02T00:00:00Z") == []


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ({"query": "nope:x"}, "Invalid key for this search: nope"),
        ({"sort": "sessions"}, "sorting by crash statistics requires flattening (flatten=1)"),
        ({"sort": "size"}, "invalid sort"),
        ({"start": "null", "end": "null"}, "Invalid date range: null is not a valid ISO8601 date query"),
    ],
)
def test_release_list_refusals(client: FlaskClient, t: Tenant, query: dict[str, str], detail: str) -> None:
    response = client.get(org_url(t), query_string=query, headers=t.headers())
    assert response.status_code == 400
    assert response.get_json() == {"detail": detail}


def test_project_release_details(client: FlaskClient, t: Tenant) -> None:
    assert create(client, t, {"version": "1.0"}).status_code == 201
    issues = f"/api/0/projects/{t.org_slug}/{t.project_slug}/issues/"
    issue = client.post(issues, json={"title": "Boom", "firstRelease": "1.0"}, headers=t.headers())
    assert issue.status_code == 201, issue.get_json()
    got = client.get(project_url(t, "1.0/"), headers=t.headers())
    assert got.status_code == 200, got.get_json()
    assert got.get_json()["newGroups"] == 1
    assert listed(client, t, project_url(t)) == ["1.0"]
    changed = client.put(project_url(t, "1.0/"), json={"ref": "main", "refs": "ignored"}, headers=t.headers())
    assert changed.status_code == 200, changed.get_json()
    assert details(client, t, "1.0").get_json()["ref"] == "main"
    assert client.get(project_url(t, "2.0/"), headers=t.headers()).status_code == 404
    # the first release of an issue stays
    assert client.delete(project_url(t, "1.0/"), headers=t.headers()).status_code == 400
