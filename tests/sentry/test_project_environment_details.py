"""Port of Sentry's ``tests/sentry/core/endpoints/test_project_environment_details.py``
(getsentry/sentry, the newest stored version; older ones under ``api/endpoints/`` test the same),
as black-box HTTP tests.

Adaptations: environments are made by deploys (``tests/sentry/environments_support.py``); the
``EnvironmentProject.is_hidden`` Sentry reads back is read through the details route, where
``isHidden`` false is "never set" as well as false (Sentry's serializer shows both so), and the
``EnvironmentProject`` id through the project's list. ``test_escaped_character_put`` names
``PROD/STAGE``, which Sentry's test can only make with the ORM: ``Environment.is_valid_name``
refuses a ``/`` wherever a client names an environment, and so does eventry, so the port escapes
a name that is valid and still needs quoting in a path (a space, ``?``, ``#``, ``%``).
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from flask.testing import FlaskClient

from infra.bootstrap import Services
from tests.sentry.environments_support import create_environment, environment_url, project_environments_url
from tests.sentry.releases_support import Org, make_org


@pytest.fixture
def org(client: FlaskClient, services: Services) -> Org:
    return make_org(client, services)


def test_project_environment_details__ProjectEnvironmentsTest__test_get(org: Org) -> None:
    """``ProjectEnvironmentsTest.test_get``."""
    project = org.create_project()
    create_environment(org, "production", project)

    r = org.get(environment_url(org, project, "production"))
    assert r.status_code == 200, r.get_json()
    (listed,) = org.get(project_environments_url(org, project)).get_json()
    assert r.get_json() == {"id": listed["id"], "name": "production", "isHidden": False}

    assert org.get(environment_url(org, project, "invalid")).status_code == 404


def test_project_environment_details__ProjectEnvironmentsTest__test_put(org: Org) -> None:
    """``ProjectEnvironmentsTest.test_put``."""
    project = org.create_project()
    create_environment(org, "production", project)
    url = environment_url(org, project, "production")
    assert org.get(url).get_json()["isHidden"] is False  # never set

    r = org.put(url, {"isHidden": True})
    assert r.status_code == 200, r.get_json()
    assert org.get(url).get_json()["isHidden"] is True

    # empty request body doesn't change anything
    r = org.put(url, {})
    assert r.status_code == 200, r.get_json()
    assert org.get(url).get_json()["isHidden"] is True

    assert org.put(environment_url(org, project, "invalid"), {"isHidden": True}).status_code == 404


def test_project_environment_details__ProjectEnvironmentsTest__test_escaped_character_put(org: Org) -> None:
    """``ProjectEnvironmentsTest.test_escaped_character_put`` (with a valid name, see above)."""
    project = org.create_project()
    env_name = "PROD STAGE?#100%"
    create_environment(org, env_name, project)

    url = environment_url(org, project, quote(env_name, safe=""))
    r = org.put(url, {"isHidden": True})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["name"] == env_name

    assert org.get(url).get_json()["isHidden"] is True
