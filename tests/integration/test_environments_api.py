"""Environments over HTTP, black box, on SQLite and PostgreSQL: what deploys make, tenants that
never cross, release lists filtered by the entity, writes that append nothing when nothing
changes, idempotent replays, and read-your-writes for another reader."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask.testing import FlaskClient

from commands.releases import CreateDeploy
from events.environments import EnvironmentProjectAdded, environments_stream
from infra.bootstrap import Services
from tests.conftest import OPERATOR
from tests.sentry.environments_support import (
    create_environment,
    environment_url,
    organization_environments_url,
    project_environments_url,
)
from tests.sentry.releases_support import Org, make_org


@pytest.fixture
def org(client: FlaskClient, services: Services) -> Org:
    return make_org(client, services)


def names(response: Any) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [e["name"] for e in response.get_json()]


def stream_length(services: Services, org: Org) -> int:
    return len(services.store.read_stream(environments_stream(org.id)))


def test_a_deploy_makes_the_environment_for_the_deploys_projects_only(org: Org) -> None:
    web, api = org.create_project("web"), org.create_project("api")
    org.create_release("1.0", [web, api])
    r = org.post(org.release_url("1.0", "deploys/"), {"environment": "production", "projects": [web["slug"]]})
    assert r.status_code == 201, r.get_json()

    assert names(org.get(project_environments_url(org, web))) == ["production"]
    assert names(org.get(project_environments_url(org, api))) == []
    assert names(org.get(organization_environments_url(org))) == ["production"]
    # A second deploy to it from the other project attaches it there, the same environment.
    org.post(org.release_url("1.0", "deploys/"), {"environment": "production", "projects": [api["slug"]]})
    assert names(org.get(project_environments_url(org, api))) == ["production"]
    (env,) = org.get(organization_environments_url(org)).get_json()
    assert env["name"] == "production" and env["id"].isdigit()


def test_a_refused_deploy_makes_no_environment(org: Org, services: Services) -> None:
    org.create_release("1.0")
    for body in (
        {"environment": "a/b"},
        {"environment": "x" * 65},
        {"environment": "ok", "projects": ["nope"]},
    ):
        assert org.post(org.release_url("1.0", "deploys/"), body).status_code == 400
    assert org.post(org.release_url("2.0", "deploys/"), {"environment": "ok"}).status_code == 404
    assert stream_length(services, org) == 0
    assert names(org.get(organization_environments_url(org), visibility="all")) == []


def test_tenants_never_cross(org: Org, client: FlaskClient, services: Services) -> None:
    other = make_org(client, services)
    create_environment(org, "production", org.project)
    create_environment(other, "staging", other.project)

    assert names(org.get(organization_environments_url(org))) == ["production"]
    assert names(other.get(organization_environments_url(other))) == ["staging"]
    # Another organization's token: 403 on this organization's routes, whatever the name.
    for url in (
        organization_environments_url(org),
        project_environments_url(org),
        environment_url(org, org.project, "production"),
    ):
        assert org.get(url, token=other.tenant.token).status_code == 403
    assert (
        org.put(
            environment_url(org, org.project, "production"), {"isHidden": True}, token=other.tenant.token
        ).status_code
        == 403
    )
    # Its own project with this organization's environment name: not there.
    assert other.get(environment_url(other, other.project, "production")).status_code == 404
    r = other.put(project_environments_url(other), {"environmentNames": ["production"], "isHidden": True})
    assert r.status_code == 200 and r.get_json() == []
    # ?project= of another organization's project is a 403 (Sentry's get_projects).
    assert org.get(organization_environments_url(org), project=other.project["id"]).status_code == 403


def test_release_lists_filter_by_the_organizations_environments(org: Org) -> None:
    org.create_release("1.0")
    org.create_release("2.0")
    org.post(org.release_url("1.0", "deploys/"), {"environment": "production"})
    create_environment(org, "staging", org.project, is_hidden=True)  # hidden: still an environment

    def versions(**query: Any) -> Any:
        return org.get(org.releases_url, **query)

    assert [r["version"] for r in versions(environment="production").get_json()] == ["1.0"]
    staging = versions(environment="staging")
    assert staging.status_code == 200 and "1.0" not in [r["version"] for r in staging.get_json()]
    assert versions(environment="nowhere").status_code == 404
    details = org.get(org.release_url("1.0"), project=org.project["id"], environment="nowhere")
    assert details.status_code == 404


def test_a_write_that_changes_nothing_appends_nothing(org: Org, services: Services) -> None:
    create_environment(org, "production", org.project)
    url = environment_url(org, org.project, "production")
    assert org.put(url, {"isHidden": True}).status_code == 200
    length = stream_length(services, org)
    for body in ({"isHidden": True}, {}):
        r = org.put(url, body)
        assert r.status_code == 200 and r.get_json()["isHidden"] is True
    bulk = {"environmentNames": ["production", "nowhere"], "isHidden": True}
    assert org.put(project_environments_url(org), bulk).status_code == 200
    assert stream_length(services, org) == length
    # A body Sentry refuses changes nothing either, and the 404 comes before the body's check.
    assert org.put(url, {"isHidden": "perhaps"}).get_json() == {"isHidden": ["Must be a valid boolean."]}
    assert org.put(environment_url(org, org.project, "nowhere"), {"isHidden": "perhaps"}).status_code == 404
    assert org.put(environment_url(org, org.project, "none"), {"isHidden": True}).status_code == 404


def test_bulk_errors_are_drfs(org: Org) -> None:
    url = project_environments_url(org)
    assert org.put(url, {}).get_json() == {
        "environmentNames": ["This field is required."],
        "isHidden": ["This field is required."],
    }
    empty = org.put(url, {"environmentNames": [], "isHidden": True}).get_json()
    assert empty == {"environmentNames": ["This list may not be empty."]}
    many = org.put(url, {"environmentNames": ["e"] * 1001, "isHidden": True}).get_json()
    assert many == {"environmentNames": ["Ensure this field has no more than 1000 elements."]}
    invalid = org.get(url, visibility="nope")
    assert invalid.status_code == 400
    expected = "Invalid value for 'visibility', valid values are: ['all', 'hidden', 'visible']"
    assert invalid.get_json() == {"detail": expected}


def test_an_idempotent_put_replays_its_first_response(org: Org, services: Services) -> None:
    create_environment(org, "production", org.project)
    url = environment_url(org, org.project, "production")
    headers = org.headers(**{"Idempotency-Key": "hide-prod"})
    first = org.client.put(url, json={"isHidden": True}, headers=headers)
    length = stream_length(services, org)
    again = org.client.put(url, json={"isHidden": True}, headers=headers)
    assert again.status_code == 200 and again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert stream_length(services, org) == length


def test_another_reader_sees_a_write_from_its_position(org: Org) -> None:
    create_environment(org, "production", org.project)
    reader = org.token("project:read")
    r = org.put(environment_url(org, org.project, "production"), {"isHidden": True})
    position = r.headers["X-Eventry-Position"]
    seen = org.client.get(
        project_environments_url(org),
        query_string={"visibility": "hidden"},
        headers=org.headers(reader, **{"X-Eventry-Min-Position": position}),
    )
    assert names(seen) == ["production"]


def test_concurrent_first_deploys_make_one_environment(org: Org, services: Services) -> None:
    """Eight deploys at once to a name the organization does not have yet, from releases of
    different projects: one environment, attached once to each project (the losers of the
    append decide again and find it)."""
    projects = [org.create_project() for _ in range(4)]
    for i, project in enumerate(projects):
        org.create_release(f"{i}.0", [project])
    commands = [
        CreateDeploy(org.id, f"{i % 4}.0", services.snowflake("deploy_snowflake_key"), "prod", *[None] * 5)
        for i in range(8)
    ]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda c: services.dispatch(c, OPERATOR), commands))

    recorded = [r.event for r in services.store.read_stream(environments_stream(org.id))]
    assert [type(e).__name__ for e in recorded].count("EnvironmentCreated") == 1
    assert sorted(e.project_id for e in recorded if isinstance(e, EnvironmentProjectAdded)) == sorted(
        int(p["id"]) for p in projects
    )
    services.engine.catch_up_all()
    for project in projects:
        assert names(org.get(project_environments_url(org, project))) == ["prod"]
