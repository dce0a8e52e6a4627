"""Port of Sentry's ``tests/sentry/api/endpoints/test_project_release_details.py``
(getsentry/sentry, the newest stored version: ``OrgAuthToken``, ``requires_snuba``, 10,964
characters), as black-box HTTP tests of ``/api/0/projects/{org}/{project}/releases/{version}/``.

Adaptations: ``new_groups`` are issues whose first release it is; the release ``Activity`` and
``ReleaseFile`` rows have no eventry route and are left out.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient

from infra.bootstrap import Services
from tests.sentry.releases_support import Org, make_org

MAX_VERSION_LENGTH = 200


@pytest.fixture
def org(client: FlaskClient, services: Services) -> Org:
    return make_org(client, services)


@pytest.fixture
def two(org: Org) -> tuple[dict[str, Any], dict[str, Any]]:
    """Sentry's projects foo and bar with release "1" of both."""
    project, project2 = org.create_project("foo"), org.create_project("bar")
    org.create_release("1", [project, project2])
    return project, project2


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def test_project_release_details__ReleaseDetailsTest__test_simple(org: Org, two: Any) -> None:
    project, _ = two
    for n in range(5):
        r = org.post(
            f"/api/0/projects/{org.slug}/{project['slug']}/issues/", {"title": f"i{n}", "firstRelease": "1"}
        )
        assert r.status_code == 201, r.get_json()
    response = org.get(org.project_release_url("1", project))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["version"] == "1"
    assert response.get_json()["newGroups"] == 5


def test_project_release_details__UpdateReleaseDetailsTest__test_simple(org: Org, two: Any) -> None:
    project, _ = two
    response = org.put(org.project_release_url("1", project), {"ref": "master"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["version"] == "1"
    assert org.get(org.release_url("1")).get_json()["ref"] == "master"


def test_project_release_details__UpdateReleaseDetailsTest__test_commits(org: Org, two: Any) -> None:
    project, _ = two
    response = org.put(
        org.project_release_url("1", project), {"commits": [{"id": "a" * 40}, {"id": "b" * 40}]}
    )
    assert response.status_code == 200, response.get_json()
    assert len(org.get(org.release_url("1", "commits/")).get_json()) == 2


@pytest.mark.parametrize("version", ["1", "x" * 65])
def test_project_release_details__UpdateReleaseDetailsTest__test_activity_generation(
    org: Org, version: str
) -> None:
    """Sentry: ``test_activity_generation`` and ``test_activity_generation_long_version``."""
    project, project2 = org.create_project("foo"), org.create_project("bar")
    org.create_release(version, [project, project2])
    response = org.put(org.project_release_url(version, project), {"dateReleased": now_iso()})
    assert response.status_code == 200, response.get_json()
    assert org.get(org.release_url(version)).get_json()["dateReleased"]


def test_project_release_details__UpdateReleaseDetailsTest__test_org_auth_token(org: Org, two: Any) -> None:
    project, _ = two
    good = org.token("org:ci")
    response = org.put(org.project_release_url("1", project), {"ref": "master"}, token=good)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["version"] == "1"
    assert org.get(org.release_url("1")).get_json()["ref"] == "master"


def test_project_release_details__ReleaseDeleteTest__test_simple(org: Org, two: Any) -> None:
    project, _ = two
    response = org.delete(org.project_release_url("1", project))
    assert response.status_code == 204, response.get_data(as_text=True)
    assert org.get(org.release_url("1")).status_code == 404


def test_project_release_details__ReleaseDeleteTest__test_existing_group(org: Org, two: Any) -> None:
    project, _ = two
    r = org.post(f"/api/0/projects/{org.slug}/{project['slug']}/issues/", {"title": "t", "firstRelease": "1"})
    assert r.status_code == 201, r.get_json()
    response = org.delete(org.project_release_url("1", project))
    assert response.status_code == 400, response.get_json()
    assert org.get(org.release_url("1")).status_code == 200


# ReleaseSerializerTest (ReleaseSerializer: the PUT body, through the route)


def put(org: Org, two: Any, body: dict[str, Any]) -> Any:
    return org.put(org.project_release_url("1", two[0]), body)


def test_project_release_details__ReleaseSerializerTest__test_simple(org: Org, two: Any) -> None:
    body = {
        "ref": "master",
        "url": "https://example.com",
        "dateReleased": "1000-10-10T06:06",
        "commits": [{"id": "a" * 40}, {"id": "b" * 40}],
    }
    assert put(org, two, body).status_code == 200
    data = org.get(org.release_url("1")).get_json()
    assert data["ref"] == "master"
    assert data["url"] == "https://example.com"
    assert datetime.fromisoformat(data["dateReleased"]) == datetime(1000, 10, 10, 6, 6, tzinfo=UTC)


def test_project_release_details__ReleaseSerializerTest__test_fields_not_required(org: Org, two: Any) -> None:
    assert put(org, two, {}).status_code == 200


def test_project_release_details__ReleaseSerializerTest__test_do_not_allow_null_commits(
    org: Org, two: Any
) -> None:
    assert put(org, two, {"commits": None}).status_code == 400


def test_project_release_details__ReleaseSerializerTest__test_ref_limited_by_max_version_length(
    org: Org, two: Any
) -> None:
    assert put(org, two, {"ref": "a" * MAX_VERSION_LENGTH}).status_code == 200
    assert put(org, two, {"ref": "a" * (MAX_VERSION_LENGTH + 1)}).status_code == 400
