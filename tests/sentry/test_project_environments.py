"""Port of Sentry's ``tests/sentry/core/endpoints/test_project_environments.py`` (getsentry/sentry,
the newest stored version: the bulk PUT takes ``environmentNames`` and leaves out names the
project does not have; an older version took ``environment_names`` and refused them with a
400, this port follows the newest), as black-box HTTP tests.

Adaptations: environments are made by deploys (``tests/sentry/environments_support.py``); the
``EnvironmentProject`` rows Sentry reads back are read through the list route with
``visibility=all`` (``isHidden`` false there is Sentry's "never set" as well as false). "Another
user" without access to the project is a token of another organization (403, Sentry's
``NoAccess``), as in ``releases_support``.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from infra.bootstrap import Services
from tests.conftest import make_tenant
from tests.sentry.environments_support import create_environment, project_environments_url
from tests.sentry.releases_support import OWNER, Org, make_org


@pytest.fixture
def org(client: FlaskClient, services: Services) -> Org:
    return make_org(client, services)


def listed(org: Org, project: dict[str, Any], **query: str) -> list[dict[str, Any]]:
    r = org.get(project_environments_url(org, project), **query)
    assert r.status_code == 200, r.get_json()
    return r.get_json()  # type: ignore[no-any-return]


def hidden_by_name(org: Org, project: dict[str, Any]) -> dict[str, bool]:
    return {e["name"]: e["isHidden"] for e in listed(org, project, visibility="all")}


def test_project_environments__ProjectEnvironmentsTest__test_simple(org: Org) -> None:
    """``ProjectEnvironmentsTest.test_simple``."""
    project = org.create_project()
    create_environment(org, "production", project)
    create_environment(org, "staging", project)

    data = listed(org, project)
    assert len(data) == 2
    assert data[0]["name"] == "production"
    assert data[1]["name"] == "staging"


def test_project_environments__ProjectEnvironmentsTest__test_visibility_filtering(org: Org) -> None:
    """``ProjectEnvironmentsTest.test_visibility_filtering``."""
    project = org.create_project()
    create_environment(org, "production", project, is_hidden=False)
    create_environment(org, "staging", project, is_hidden=True)

    data = listed(org, project)
    assert len(data) == 1
    assert data[0]["name"] == "production"

    data = listed(org, project, visibility="all")
    assert len(data) == 2
    assert data[0]["name"] == "production"
    assert data[1]["name"] == "staging"

    data = listed(org, project, visibility="hidden")
    assert len(data) == 1
    assert data[0]["name"] == "staging"


def test_project_environments__ProjectEnvironmentsTest__test_bulk_put(org: Org) -> None:
    """``ProjectEnvironmentsTest.test_bulk_put``."""
    project = org.create_project()
    for name in ("production", "staging", "development"):
        create_environment(org, name, project)

    r = org.put(
        project_environments_url(org, project),
        {"environmentNames": ["production", "staging"], "isHidden": True},
    )
    assert r.status_code == 200, r.get_json()
    data = r.get_json()
    assert len(data) == 2
    assert data[0]["name"] == "production"
    assert data[0]["isHidden"] is True
    assert data[1]["name"] == "staging"
    assert data[1]["isHidden"] is True

    assert hidden_by_name(org, project) == {"production": True, "staging": True, "development": False}


def test_project_environments__ProjectEnvironmentsTest__test_bulk_put_nonexistent_environment_ignored(
    org: Org,
) -> None:
    """``ProjectEnvironmentsTest.test_bulk_put_nonexistent_environment_ignored``."""
    project = org.create_project()
    create_environment(org, "production", project)

    r = org.put(
        project_environments_url(org, project),
        {"environmentNames": ["production", "nonexistent"], "isHidden": True},
    )
    assert r.status_code == 200, r.get_json()
    data = r.get_json()
    assert len(data) == 1
    assert data[0]["name"] == "production"
    assert data[0]["isHidden"] is True

    assert hidden_by_name(org, project) == {"production": True}


def test_project_environments__ProjectEnvironmentsTest__test_bulk_put_validation_errors(org: Org) -> None:
    """``ProjectEnvironmentsTest.test_bulk_put_validation_errors``."""
    url = project_environments_url(org, org.create_project())

    assert org.put(url, {}).status_code == 400
    assert org.put(url, {"environmentNames": [], "isHidden": True}).status_code == 400
    assert org.put(url, {"environmentNames": ["production"]}).status_code == 400
    too_many = [f"env-{i}" for i in range(1001)]
    assert org.put(url, {"environmentNames": too_many, "isHidden": True}).status_code == 400


def test_project_environments__ProjectEnvironmentsTest__test_bulk_put_no_project_access(
    org: Org, client: FlaskClient, services: Services
) -> None:
    """``ProjectEnvironmentsTest.test_bulk_put_no_project_access``."""
    project = org.create_project()
    create_environment(org, "production", project)
    other_user = make_tenant(services, scopes=OWNER).token

    r = org.put(
        project_environments_url(org, project),
        {"environmentNames": ["production"], "isHidden": True},
        token=other_user,
    )
    assert r.status_code == 403
    assert hidden_by_name(org, project) == {"production": False}
