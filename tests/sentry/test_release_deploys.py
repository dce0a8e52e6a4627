"""Port of Sentry's ``tests/sentry/api/endpoints/test_release_deploys.py`` (getsentry/sentry, the
newest stored version: the one with ``test_with_project_ids`` and
``test_api_token_with_project_releases_scope``; older versions lack the ``?project=`` list filter
and the ``parameter-validation-error`` shape, this port follows the newest), as black-box HTTP
tests.

Adaptations: ``Deploy.objects.create`` becomes ``POST .../deploys/`` (which also makes the
``ReleaseProjectEnvironment`` rows the list filters on); the database rows Sentry checks
(``Deploy``, ``Release.total_deploys``/``last_deploy_id``, ``ReleaseProjectEnvironment``) are read
back as the release's ``deployCount``/``lastDeploy`` and the deploy list filtered by project.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from infra.bootstrap import Services
from tests.sentry.releases_support import Org, make_org


@pytest.fixture
def org(client: FlaskClient, services: Services) -> Org:
    return make_org(client, services)


def deploys(org: Org, version: str, **query: Any) -> list[dict[str, Any]]:
    response = org.get(org.release_url(version, "deploys/"), **query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def make_deploy(org: Org, version: str, **body: Any) -> dict[str, Any]:
    response = org.post(org.release_url(version, "deploys/"), body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def yesterday() -> str:
    return (datetime.now(UTC) - timedelta(days=1)).isoformat().replace("+00:00", "Z")


# ReleaseDeploysListTest


def test_release_deploys__ReleaseDeploysListTest__test_simple(org: Org) -> None:
    project = org.create_project("foo")
    version = "1\u20130"  # test unicode (an en dash)
    org.create_release(version, [project])
    make_deploy(org, version, environment="production", dateFinished=yesterday(), projects=[project["slug"]])
    make_deploy(org, version, environment="staging", projects=[project["slug"]])

    data = deploys(org, version)
    assert data[0]["environment"] == "staging"
    assert data[1]["environment"] == "production"


def test_release_deploys__ReleaseDeploysListTest__test_with_project(org: Org) -> None:
    project, project2 = org.create_project("bar"), org.create_project("baz")
    version = "1\u20131"  # test unicode (an en dash)
    org.create_release(version, [project, project2])
    make_deploy(org, version, environment="production", dateFinished=yesterday(), projects=[project["slug"]])

    # Test that the first project returns the deploy as expected
    data = deploys(org, version, project=project["id"])
    assert len(data) == 1 and data[0]["environment"] == "production"
    # Test that the second project does not return any deploys
    assert len(deploys(org, version, project=project2["id"])) == 0
    # Test that not setting the project id returns the deploy
    data = deploys(org, version)
    assert len(data) == 1 and data[0]["environment"] == "production"
    # Negative ID set as the project_id is same as not setting it
    data = deploys(org, version, project="-1")
    assert len(data) == 1 and data[0]["environment"] == "production"


# ReleaseDeploysCreateTest


def assert_release_deployed(org: Org, version: str, deploy: dict[str, Any]) -> None:
    """``Release.total_deploys == 1`` and ``last_deploy_id == deploy.id``, through the API."""
    release = org.get(org.release_url(version)).get_json()
    assert release["deployCount"] == 1
    assert release["lastDeploy"]["id"] == deploy["id"]
    (listed,) = deploys(org, version)
    assert listed["id"] == deploy["id"]
    assert listed["name"] == deploy["name"]
    assert listed["url"] == deploy["url"]
    assert listed["environment"] == "production"


def test_release_deploys__ReleaseDeploysCreateTest__test_simple(org: Org) -> None:
    project = org.create_project("foo")
    org.create_release("1", [project])
    response = org.post(
        org.release_url("1", "deploys/"),
        {"name": "foo", "environment": "production", "url": "https://www.example.com"},
    )
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    assert data["name"] == "foo"
    assert data["url"] == "https://www.example.com"
    assert data["environment"] == "production"
    assert_release_deployed(org, "1", data)


def test_release_deploys__ReleaseDeploysCreateTest__test_with_project_slugs(org: Org) -> None:
    project, project_bar = org.create_project("foo"), org.create_project("bar")
    org.create_release("1", [project, project_bar])
    response = org.post(
        org.release_url("1", "deploys/"),
        {
            "name": "foo_bar",
            "environment": "production",
            "url": "https://www.example.com",
            "projects": [project["slug"], project_bar["slug"]],
        },
    )
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    assert data["name"] == "foo_bar"
    assert data["url"] == "https://www.example.com"
    assert data["environment"] == "production"
    assert_release_deployed(org, "1", data)


def test_release_deploys__ReleaseDeploysCreateTest__test_with_multiple_projects(org: Org) -> None:
    project, project_bar = org.create_project("foo"), org.create_project("bar")
    org.create_release("1", [project, project_bar])
    response = org.post(
        org.release_url("1", "deploys/"),
        {
            "name": "foo_bar",
            "environment": "production",
            "url": "https://www.example.com",
            "projects": [project_bar["slug"]],
        },
    )
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    assert data["name"] == "foo_bar"
    assert data["url"] == "https://www.example.com"
    assert data["environment"] == "production"
    assert_release_deployed(org, "1", data)
    # the ReleaseProjectEnvironment rows: project bar only
    assert deploys(org, "1", project=project["id"]) == []
    assert [d["id"] for d in deploys(org, "1", project=project_bar["id"])] == [data["id"]]


def test_release_deploys__ReleaseDeploysCreateTest__test_with_project_ids(org: Org) -> None:
    project, project_bar = org.create_project("foo"), org.create_project("bar")
    org.create_release("1", [project, project_bar])
    response = org.post(
        org.release_url("1", "deploys/"),
        {
            "name": "foo_bar",
            "environment": "production",
            "url": "https://www.example.com",
            "projects": [int(project["id"]), int(project_bar["id"])],
        },
    )
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    assert data["name"] == "foo_bar"
    assert data["url"] == "https://www.example.com"
    assert data["environment"] == "production"
    assert_release_deployed(org, "1", data)


def test_release_deploys__ReleaseDeploysCreateTest__test_with_invalid_project_slug(org: Org) -> None:
    project, bar_project = org.create_project("foo"), org.create_project("bar")
    org.create_release("1", [project])
    response = org.post(
        org.release_url("1", "deploys/"),
        {
            "name": "foo",
            "environment": "production",
            "url": "https://www.example.com",
            "projects": [bar_project["slug"]],
        },
    )
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["detail"]["code"] == "parameter-validation-error"
    assert "Invalid projects" in response.get_json()["detail"]["message"]
    assert deploys(org, "1") == []


def test_release_deploys__ReleaseDeploysCreateTest__test_environment_validation_failure(org: Org) -> None:
    project = org.create_project("example")
    org.create_release("123", [project])
    response = org.post(
        org.release_url("123", "deploys/"),
        {"name": "foo", "environment": "bad/name", "url": "https://www.example.com"},
    )
    assert response.status_code == 400, response.get_json()
    assert deploys(org, "123") == []


def test_release_deploys__ReleaseDeploysCreateTest__test_api_token_with_project_releases_scope(
    org: Org,
) -> None:
    project, project_bar = org.create_project("foo"), org.create_project("bar")
    org.create_release("1", [project, project_bar])
    token = org.token("project:releases")
    response = org.post(
        org.release_url("1", "deploys/"),
        {
            "name": "single_project_deploy",
            "environment": "production",
            "url": "https://www.example.com",
            "projects": [project_bar["slug"]],  # Only one project specified
        },
        token=token,
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["name"] == "single_project_deploy"
    assert response.get_json()["environment"] == "production"
