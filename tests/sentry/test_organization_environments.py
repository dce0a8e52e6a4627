"""Port of Sentry's ``tests/sentry/core/endpoints/test_organization_environments.py``
(getsentry/sentry, the newest stored version), as black-box HTTP tests.

Adaptations: environments are made by deploys (``tests/sentry/environments_support.py``), so
their ids are not known to the test as Sentry's ``serialize([...])`` knows them: each expected
list is compared by names, in order, and every id is checked to be a number, one per
environment, the same in every response.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from infra.bootstrap import Services
from tests.sentry.environments_support import create_environment, organization_environments_url
from tests.sentry.releases_support import Org, make_org


class Ids:
    """Every environment id seen, by name: one per name, never reused for another."""

    def __init__(self) -> None:
        self.by_name: dict[str, str] = {}

    def names(self, data: list[dict[str, Any]]) -> list[str]:
        for env in data:
            assert set(env) == {"id", "name"} and env["id"].isdigit()
            assert self.by_name.setdefault(env["name"], env["id"]) == env["id"]
        assert len(set(self.by_name.values())) == len(self.by_name)
        return [env["name"] for env in data]


@pytest.fixture
def org(client: FlaskClient, services: Services) -> Org:
    return make_org(client, services)


def get_success_response(org: Org, **query: Any) -> list[dict[str, Any]]:
    r = org.get(organization_environments_url(org), **query)
    assert r.status_code == 200, r.get_json()
    return r.get_json()  # type: ignore[no-any-return]


def test_organization_environments__OrganizationEnvironmentsTest__test_simple(org: Org) -> None:
    """``OrganizationEnvironmentsTest.test_simple``."""
    ids = Ids()
    create_environment(org, "not project")
    create_environment(org, "production", org.project)
    create_environment(org, "staging", org.project)

    assert ids.names(get_success_response(org)) == ["production", "staging"]


def test_organization_environments__OrganizationEnvironmentsTest__test_visibility(org: Org) -> None:
    """``OrganizationEnvironmentsTest.test_visibility``."""
    ids = Ids()
    create_environment(org, "visible", org.project, is_hidden=False)
    create_environment(org, "not visible", org.project, is_hidden=True)
    create_environment(org, "null visible", org.project)

    assert ids.names(get_success_response(org, visibility="visible")) == ["null visible", "visible"]
    assert ids.names(get_success_response(org, visibility="hidden")) == ["not visible"]
    all_three = ["not visible", "null visible", "visible"]
    assert ids.names(get_success_response(org, visibility="all")) == all_three


def test_organization_environments__OrganizationEnvironmentsTest__test_project_filter(org: Org) -> None:
    """``OrganizationEnvironmentsTest.test_project_filter``."""
    ids = Ids()
    other_project = org.create_project()
    create_environment(org, "project", org.project)
    create_environment(org, "other", other_project)

    assert ids.names(get_success_response(org, project=[org.project["id"]])) == ["project"]
    assert ids.names(get_success_response(org, project=[other_project["id"]])) == ["other"]
    both = [org.project["id"], other_project["id"]]
    assert ids.names(get_success_response(org, project=both)) == ["other", "project"]


def test_organization_environments__OrganizationEnvironmentsTest__test_invalid_visibility(org: Org) -> None:
    """``OrganizationEnvironmentsTest.test_invalid_visibility``."""
    r = org.get(organization_environments_url(org), visibility="invalid-vis")
    assert r.status_code == 400
    assert r.get_json()["detail"].startswith("Invalid value for 'visibility'")
