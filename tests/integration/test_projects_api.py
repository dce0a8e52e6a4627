"""Projects over HTTP, black box, on SQLite and PostgreSQL: create (sentry-behaviour 8.1's slug
table), read, update (name, slug, platform, options and the revision bump), delete (8.2)."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from infra.bootstrap import Services
from tests.conftest import Tenant, make_token

HEX12 = re.compile(r"^[a-f0-9]{12}$")
HEX32 = re.compile(r"^[a-f0-9]{32}$")


def create(client: FlaskClient, t: Tenant, body: Any, token: str | None = None) -> Any:
    return client.post(f"/api/0/organizations/{t.org_slug}/projects/", json=body, headers=t.headers(token))


def created(client: FlaskClient, t: Tenant, name: str, **extra: Any) -> dict[str, Any]:
    response = create(client, t, {"name": name, **extra})
    assert response.status_code == 201, response.get_json()
    body: dict[str, Any] = response.get_json()
    body["position"] = response.headers["X-Eventry-Position"]
    return body


def detail(client: FlaskClient, t: Tenant, slug: str, position: str | None = None) -> Any:
    headers = {"X-Eventry-Min-Position": position} if position else {}
    return client.get(f"/api/0/projects/{t.org_slug}/{slug}/", headers=t.headers(**headers))


def update(client: FlaskClient, t: Tenant, slug: str, body: Any, token: str | None = None) -> Any:
    return client.put(f"/api/0/projects/{t.org_slug}/{slug}/", json=body, headers=t.headers(token))


def audit_rows(client: FlaskClient, t: Tenant, event: str, position: str) -> list[dict[str, Any]]:
    response = client.get(
        f"/api/0/organizations/{t.org_slug}/audit-logs/?event={event}",
        headers=t.headers(**{"X-Eventry-Min-Position": position}),
    )
    return response.get_json()["rows"]


def test_the_slug_table(client: FlaskClient, tenant: Tenant) -> None:
    assert created(client, tenant, "matt")["slug"] == "matt"
    taken = created(client, tenant, "matt")["slug"]
    assert re.fullmatch(r"matt-[a-z0-9]{2}", taken)
    assert HEX12.match(created(client, tenant, "Settings")["slug"])  # reserved: a random slug
    assert re.fullmatch(r"1234-[a-z0-9]{2}", created(client, tenant, "1234")["slug"])  # never all digits
    assert created(client, tenant, "f o o")["slug"] == "f-o-o"
    assert created(client, tenant, "_foo_")["slug"] == "foo"
    long = created(client, tenant, "a" * 50)["slug"]
    assert long == "a" * 50
    assert re.fullmatch(
        r"a{47}-[a-z0-9]{2}", created(client, tenant, "a" * 50)["slug"]
    )  # room for the suffix


# The ``options`` Sentry's serializer always shows (``format_options``): filter lists as text,
# the "0"/"1" switches as booleans.
SENTRY_FORMATTED_DEFAULTS = {
    "sentry:csp_ignored_sources_defaults": True,
    "sentry:csp_ignored_sources": "",
    "filters:blacklisted_ips": "",
    "filters:releases": "",
    "filters:error_messages": "",
    "filters:log_messages": "",
    "filters:trace_metric_names": "",
    "filters:react-hydration-errors": True,
    "filters:chunk-load-error": True,
    "feedback:branding": True,
}


def test_create_response_and_read(client: FlaskClient, tenant: Tenant) -> None:
    body = created(client, tenant, "Backend API", platform="python-django")
    assert (
        body["slug"] == "backend-api"
        and body["name"] == "Backend API"
        and body["platform"] == "python-django"
    )
    assert int(body["id"]) >> 48 == 16  # a snowflake id
    shown = detail(client, tenant, "backend-api", body["position"])
    assert shown.status_code == 200
    project = shown.get_json()
    assert project["id"] == body["id"] and project["organization"]["slug"] == tenant.org_slug
    assert project["options"] == SENTRY_FORMATTED_DEFAULTS  # no option set: Sentry's format_options
    assert project["allowedDomains"] == ["*"] and project["status"] == "active"
    keys = client.get(
        f"/api/0/projects/{tenant.org_slug}/backend-api/keys/",
        headers=tenant.headers(**{"X-Eventry-Min-Position": body["position"]}),
    ).get_json()
    assert [k["label"] for k in keys] == ["Default"]  # Sentry creates a key with every project
    [entry] = audit_rows(client, tenant, "project.create", body["position"])[:1]
    assert entry["data"]["slug"] == "backend-api" and entry["targetObject"] == int(body["id"])


def test_explicit_slug(client: FlaskClient, tenant: Tenant) -> None:
    assert created(client, tenant, "Anything", slug="my_slug-1")["slug"] == "my_slug-1"
    again = create(client, tenant, {"name": "Other", "slug": "my_slug-1"})
    assert again.status_code == 409
    assert again.get_json() == {"detail": "A project with this slug already exists."}


SLUG_INVALID = (
    "Enter a valid slug consisting of lowercase letters, numbers, underscores or hyphens. "
    "It cannot be entirely numeric."
)


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"name": ["This field is required."]}),
        ({"name": ""}, {"name": ["This field may not be blank."]}),
        ({"name": "x" * 51}, {"name": ["Ensure this field has no more than 50 characters."]}),
        ({"name": "settings"}, {"name": ['The name "settings" is reserved and not allowed.']}),
        ({"name": "ok", "slug": "Upper"}, {"slug": [SLUG_INVALID]}),
        ({"name": "ok", "slug": "1234"}, {"slug": [SLUG_INVALID]}),
        ({"name": "ok", "platform": "cobol"}, {"platform": ["Invalid platform"]}),
        ({"name": "ok", "platform": "nintendo-switch"},
         {"platform": ["Console platform 'nintendo-switch' is not enabled for this organization"]}),
    ],
)  # fmt: skip
def test_create_validation(
    client: FlaskClient, services: Services, tenant: Tenant, body: Any, errors: Any
) -> None:
    head = services.store.head()
    response = create(client, tenant, body)
    assert response.status_code == 400 and response.get_json() == errors
    assert services.store.head() == head


def test_create_needs_a_project_or_org_write_scope(
    client: FlaskClient, services: Services, tenant: Tenant
) -> None:
    reader, _ = make_token(services, tenant.org_id, ("project:read", "org:read"))
    assert create(client, tenant, {"name": "x"}, token=reader).status_code == 403
    org_writer, _ = make_token(services, tenant.org_id, ("org:write",))
    assert create(client, tenant, {"name": "x"}, token=org_writer).status_code == 201


def test_member_project_creation_can_be_disabled(
    client: FlaskClient, services: Services, tenant: Tenant
) -> None:
    response = client.put(
        f"/api/0/organizations/{tenant.org_slug}/",
        json={"allowMemberProjectCreation": False},
        headers=tenant.headers(),
    )
    position = response.headers["X-Eventry-Position"]
    member, _ = make_token(services, tenant.org_id, ("project:write",))
    refused = client.post(
        f"/api/0/organizations/{tenant.org_slug}/projects/",
        json={"name": "x"},
        headers=tenant.headers(member, **{"X-Eventry-Min-Position": position}),
    )
    assert refused.status_code == 403
    assert refused.get_json() == {"detail": "Your organization has disabled this feature for members."}
    assert create(client, tenant, {"name": "x"}).status_code == 201  # org:write may


def test_list_organization_projects(client: FlaskClient, tenant: Tenant) -> None:
    body = created(client, tenant, "Zeta")
    listed = client.get(
        f"/api/0/organizations/{tenant.org_slug}/projects/",
        headers=tenant.headers(**{"X-Eventry-Min-Position": body["position"]}),
    ).get_json()
    assert [p["slug"] for p in listed] == sorted([tenant.project_slug, "zeta"])


def test_update_name_slug_platform(client: FlaskClient, services: Services, tenant: Tenant) -> None:
    response = update(
        client, tenant, tenant.project_slug, {"name": "Renamed", "slug": "renamed", "platform": "go"}
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["name"], body["slug"], body["platform"]) == ("Renamed", "renamed", "go")
    position = response.headers["X-Eventry-Position"]
    assert detail(client, tenant, "renamed", position).get_json()["name"] == "Renamed"
    moved = detail(client, tenant, tenant.project_slug)  # Sentry's ProjectRedirect
    assert moved.status_code == 302
    assert moved.headers["Location"] == f"/api/0/projects/{tenant.org_slug}/renamed/"
    [entry] = audit_rows(client, tenant, "project.edit", position)
    assert entry["note"] == f"renamed project slug from {tenant.project_slug} to renamed"
    assert entry["data"] == {
        "new_slug": "renamed",
        "old_slug": tenant.project_slug,
        "new_project": "Renamed",
        "id": tenant.project_id,
        "slug": "renamed",
        "name": "Renamed",
        "status": 0,
        "public": False,
    }
    # the old slug is free again
    assert created(client, tenant, tenant.project_slug.replace("-", " "))["slug"] == tenant.project_slug
    head = services.store.head()
    assert update(client, tenant, "renamed", {"name": "Renamed"}).status_code == 200  # no change
    assert services.store.head() == head


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"slug": "Bad Slug"}, {"slug": [SLUG_INVALID]}),
        ({"slug": "settings"}, {"slug": ['The slug "settings" is reserved and not allowed.']}),
        ({"name": "x" * 201}, {"name": ["Ensure this field has no more than 200 characters."]}),
        ({"platform": "cobol"}, {"platform": ["Invalid platform"]}),
        ({"options": "nope"}, {"options": ['Expected a dictionary of items but got type "str".']}),
    ],
)
def test_update_validation(
    client: FlaskClient, services: Services, tenant: Tenant, body: Any, errors: Any
) -> None:
    head = services.store.head()
    response = update(client, tenant, tenant.project_slug, body)
    assert response.status_code == 400 and response.get_json() == errors
    assert services.store.head() == head


def test_a_slug_of_another_project_is_taken(client: FlaskClient, tenant: Tenant) -> None:
    other = created(client, tenant, "Other Project")
    response = client.put(
        f"/api/0/projects/{tenant.org_slug}/{tenant.project_slug}/",
        json={"slug": "other-project"},
        headers=tenant.headers(**{"X-Eventry-Min-Position": other["position"]}),
    )
    assert response.status_code == 400
    assert response.get_json() == {"slug": ["Another project (Other Project) is already using that slug"]}


def test_options_set_delete_and_the_revision_bump(
    client: FlaskClient, services: Services, tenant: Tenant
) -> None:
    url = f"/api/0/projects/{tenant.org_slug}/{tenant.project_slug}/options/"
    first = update(
        client,
        tenant,
        tenant.project_slug,
        {"options": {"sentry:origins": ["a.com"], "sentry:resolve_age": 1}},
    )
    assert first.status_code == 200
    stored = {"sentry:origins": ["a.com"], "sentry:resolve_age": 1}
    assert first.get_json()["options"] == {**stored, **SENTRY_FORMATTED_DEFAULTS}
    assert first.get_json()["allowedDomains"] == ["a.com"]
    after_first = client.get(
        url, headers=tenant.headers(**{"X-Eventry-Min-Position": first.headers["X-Eventry-Position"]})
    )
    options = after_first.get_json()
    assert options["sentry:origins"] == ["a.com"] and options["sentry:resolve_age"] == 1
    assert HEX32.match(options["sentry:relay-rev"]) and options["sentry:relay-rev"][12] == "4"  # uuid4 hex
    assert options["sentry:relay-rev-lastchange"].endswith("+00:00")

    second = update(client, tenant, tenant.project_slug, {"options": {"sentry:resolve_age": None}})
    later = client.get(
        url, headers=tenant.headers(**{"X-Eventry-Min-Position": second.headers["X-Eventry-Position"]})
    )
    assert "sentry:resolve_age" not in later.get_json()
    assert later.get_json()["sentry:relay-rev"] != options["sentry:relay-rev"]
    assert later.get_json()["sentry:relay-rev-lastchange"] >= options["sentry:relay-rev-lastchange"]

    head = services.store.head()
    update(client, tenant, tenant.project_slug, {"options": {"sentry:origins": ["a.com"]}})  # unchanged
    assert services.store.head() == head


def test_metric_blocking_bumps_the_revision_too(client: FlaskClient, tenant: Tenant) -> None:
    url = f"/api/0/projects/{tenant.org_slug}/{tenant.project_slug}/options/"
    revisions = []
    for operation in ("blockMetric", "unblockMetric"):
        response = client.put(
            f"/api/0/projects/{tenant.org_slug}/{tenant.project_slug}/metrics/visibility/",
            json={"operationType": operation, "metricMri": "c:custom/x@none"},
            headers=tenant.headers(),
        )
        options = client.get(
            url, headers=tenant.headers(**{"X-Eventry-Min-Position": response.headers["X-Eventry-Position"]})
        )
        revisions.append(options.get_json()["sentry:relay-rev"])
    assert len(set(revisions)) == 2
    at_first = client.get(f"{url}?at_position=1", headers=tenant.headers()).get_json()
    assert "sentry:relay-rev" not in at_first  # time travel: no option write yet at the start of the log


def test_delete(client: FlaskClient, services: Services, tenant: Tenant) -> None:
    keys_url = f"/api/0/projects/{tenant.org_slug}/{tenant.project_slug}/keys/"
    key = client.post(keys_url, json={"name": "k"}, headers=tenant.headers())
    assert key.status_code == 201
    admin, _ = make_token(services, tenant.org_id, ("project:admin",))
    writer_refused = client.delete(
        f"/api/0/projects/{tenant.org_slug}/{tenant.project_slug}/", headers=tenant.headers()
    )
    assert writer_refused.status_code == 403  # project:write is not enough
    response = client.delete(
        f"/api/0/projects/{tenant.org_slug}/{tenant.project_slug}/", headers=tenant.headers(admin)
    )
    assert response.status_code == 204 and response.data == b""
    position = response.headers["X-Eventry-Position"]
    assert detail(client, tenant, tenant.project_slug, position).status_code == 404
    assert detail(client, tenant, str(tenant.project_id), position).status_code == 404
    assert client.get(keys_url, headers=tenant.headers()).status_code == 404
    [entry] = audit_rows(client, tenant, "project.remove", position)
    assert entry["note"] == f"removed project {tenant.project_slug}"
    assert entry["data"] == {
        "id": tenant.project_id, "slug": tenant.project_slug, "name": "Web App", "status": 0, "public": False
    }  # fmt: skip
    # the slug is free, and the project is listed as pending deletion under a random slug
    assert created(client, tenant, "Web App")["slug"] == tenant.project_slug
    again = client.delete(
        f"/api/0/projects/{tenant.org_slug}/{tenant.project_id}/", headers=tenant.headers(admin)
    )
    assert again.status_code == 404


def test_another_organizations_project_is_forbidden(
    client: FlaskClient, services: Services, tenant: Tenant
) -> None:
    from tests.conftest import make_tenant

    other = make_tenant(services)
    assert detail(client, tenant, str(other.project_id)).status_code == 404  # not in the token's org
    response = client.get(f"/api/0/projects/{other.org_slug}/{other.project_slug}/", headers=tenant.headers())
    assert response.status_code == 403  # Sentry: the project exists, the token has no access to it


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_an_old_slug_redirects_every_project_route_with_its_query(
    client: FlaskClient, services: Services, tenant: Tenant
) -> None:
    """Sentry's ``ProjectMoved``: the path under the new slug, the query kept; once another
    project takes the old slug, it is that project's again; a deleted project no longer redirects."""
    assert update(client, tenant, tenant.project_slug, {"slug": "moved"}).status_code == 200
    old = f"/api/0/projects/{tenant.org_slug}/{tenant.project_slug}/"
    response = client.get(f"{old}keys/?status=active", headers=tenant.headers())
    new_url = f"/api/0/projects/{tenant.org_slug}/moved/keys/?status=active"
    assert response.status_code == 302 and response.headers["Location"] == new_url
    assert response.get_json() == {"slug": "moved", "detail": {"extra": {"url": new_url, "slug": "moved"}}}
    assert client.put(old, json={"name": "x"}, headers=tenant.headers()).status_code == 302
    created = client.post(
        f"/api/0/organizations/{tenant.org_slug}/projects/",
        json={"name": "Again", "slug": tenant.project_slug},
        headers=tenant.headers(),
    )
    assert created.status_code == 201, created.get_json()
    assert client.get(old, headers=tenant.headers()).get_json()["name"] == "Again"
    moved = f"/api/0/projects/{tenant.org_slug}/moved/"
    assert update(client, tenant, "moved", {"slug": "moved-again"}).status_code == 200
    admin, _ = make_token(services, tenant.org_id, ("project:admin",))
    services.engine.catch_up_all()  # another token: read-your-writes is per token
    gone = client.delete(f"/api/0/projects/{tenant.org_slug}/moved-again/", headers=bearer(admin))
    assert gone.status_code == 204
    assert client.get(moved, headers=bearer(admin)).status_code == 404  # its own write


def test_bookmarks_belong_to_the_token_that_set_them(
    client: FlaskClient, services: Services, tenant: Tenant
) -> None:
    token, token_id = make_token(services, tenant.org_id, ("project:read",))
    reader = dataclasses.replace(tenant, token=token, token_id=token_id)
    url = f"/api/0/projects/{tenant.org_slug}/{tenant.project_slug}/"
    starred = client.put(url, json={"isBookmarked": True}, headers=reader.headers())
    assert starred.status_code == 200 and starred.get_json()["isBookmarked"] is True
    assert client.get(url, headers=reader.headers()).get_json()["isBookmarked"] is True
    assert client.get(url, headers=tenant.headers()).get_json()["isBookmarked"] is False
    refused = client.put(url, json={"isBookmarked": False, "name": "x"}, headers=reader.headers())
    assert refused.status_code == 403
    assert client.get(url, headers=reader.headers()).get_json()["isBookmarked"] is True
    assert client.put(url, json={"isBookmarked": "maybe"}, headers=reader.headers()).status_code == 400
    assert (
        client.put(url, json={"isBookmarked": False}, headers=reader.headers()).get_json()["isBookmarked"]
        is False
    )
