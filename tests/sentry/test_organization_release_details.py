"""Port of Sentry's ``tests/sentry/api/endpoints/test_organization_release_details.py``
(getsentry/sentry, the newest stored version: ``@region_silo_test``, ``OrgAuthToken``, 51,295
characters; it has ``currentProjectMeta``, ``adoptionStages`` and the patch-set limits), as
black-box HTTP tests.

Adaptations (see ``releases_support``): ``date_added`` is the creation order (so "same
date_added, fall back to id" is the creation order too); ``ReleaseProjectEnvironment`` rows are
made by deploys; ``new_groups`` are issues whose first release it is; ``ReleaseStatus.ARCHIVED``
is set with ``PUT {"status": "archived"}``; ``dummy`` repositories are empty local git
repositories.

Left out: the "no access" steps of ``test_simple`` (a member of one team cannot see a release of
another team's project): eventry's tokens act for the whole organization, it has no members;
the ``fetch_commits`` task arguments Sentry asserts with a mock; the ``ReleaseFile`` rows of
``ReleaseDeleteTest.test_simple`` (no release files in eventry) and the release ``Activity``
rows (no route serves them).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient

from infra.bootstrap import Services
from infra.releases import commit_lock
from tests.sentry.releases_support import Org, make_org

MAX_VERSION_LENGTH = 200


@pytest.fixture
def org(client: FlaskClient, services: Services) -> Org:
    return make_org(client, services)


def details(org: Org, version: str, **query: Any) -> Any:
    return org.get(org.release_url(version), **query)


def meta(org: Org, version: str, **query: Any) -> dict[str, Any]:
    response = details(org, version, **query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["currentProjectMeta"]  # type: ignore[no-any-return]


def deploy(org: Org, version: str, environment: str, project: dict[str, Any]) -> None:
    r = org.post(
        org.release_url(version, "deploys/"), {"environment": environment, "projects": [project["slug"]]}
    )
    assert r.status_code == 201, r.get_json()


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


# ReleaseDetailsTest


def test_organization_release_details__ReleaseDetailsTest__test_simple(org: Org) -> None:
    project1, project2 = org.create_project(), org.create_project()
    org.create_release("abcabcabc", [project1])
    org.create_release("12345678", [project2])
    for n in range(5):
        r = org.post(
            f"/api/0/projects/{org.slug}/{project1['slug']}/issues/",
            {"title": f"i{n}", "firstRelease": "abcabcabc"},
        )
        assert r.status_code == 201, r.get_json()
    deploy(org, "abcabcabc", "prod", project1)

    response = details(org, "abcabcabc")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["version"] == "abcabcabc"
    assert response.get_json()["newGroups"] == 5
    # check for current project meta should be empty if project id is not provided
    assert response.get_json()["currentProjectMeta"] == {}


def test_organization_release_details__ReleaseDetailsTest__test_multiple_projects(org: Org) -> None:
    project1, project2 = org.create_project(), org.create_project()
    org.create_release("abcabcabc", [project1, project2])
    assert details(org, "abcabcabc").status_code == 200


def test_organization_release_details__ReleaseDetailsTest__test_wrong_project(org: Org) -> None:
    project1, project2 = org.create_project(), org.create_project()
    org.create_release("abcabcabc", [project1])
    assert details(org, "abcabcabc", project=project2["id"]).status_code == 404
    assert details(org, "abcabcabc", project=project1["id"]).status_code == 200


def test_organization_release_details__ReleaseDetailsTest__test_correct_project_contains_current_project_meta(
    org: Org,
) -> None:
    project1 = org.create_project()
    org.create_release("abcabcabc", [project1])
    data = meta(org, "abcabcabc", project=project1["id"])
    for key in (
        "sessionsLowerBound", "sessionsUpperBound", "prevReleaseVersion",
        "nextReleaseVersion", "firstReleaseVersion", "lastReleaseVersion",
    ):  # fmt: skip
        assert key in data


def test_organization_release_details__ReleaseDetailsTest__test_incorrect_sort_option_should_return_invalid_sort_response(  # noqa: E501 (Sentry's test name)
    org: Org,
) -> None:
    project1 = org.create_project()
    org.create_release("abcabcabc", [project1])
    assert details(org, "abcabcabc", project=project1["id"], sort="invalid_sort").status_code == 400


def three_releases(org: Org, middle: str = "foobar@2.0.0") -> dict[str, Any]:
    project1 = org.create_project()
    for version in ("foobar@1.0.0", middle, "foobar@3.0.0"):
        org.create_release(version, [project1])
    return project1


def test_organization_release_details__ReleaseDetailsTest__test_get_prev_and_next_release_to_current_release_on_date_sort(  # noqa: E501 (Sentry's test name)
    org: Org,
) -> None:
    project1 = three_releases(org)
    # Test for middle release of the list
    data = meta(org, "foobar@2.0.0", project=project1["id"])
    assert data["nextReleaseVersion"] == "foobar@3.0.0"
    assert data["prevReleaseVersion"] == "foobar@1.0.0"
    # Test for first release of the list
    data = meta(org, "foobar@3.0.0", project=project1["id"])
    assert data["nextReleaseVersion"] is None
    assert data["prevReleaseVersion"] == "foobar@2.0.0"
    # Test for last release of the list
    data = meta(org, "foobar@1.0.0", project=project1["id"])
    assert data["nextReleaseVersion"] == "foobar@2.0.0"
    assert data["prevReleaseVersion"] is None


def test_organization_release_details__ReleaseDetailsTest__test_get_prev_and_next_release_to_current_release_on_date_sort_with_same_date(  # noqa: E501 (Sentry's test name)
    org: Org,
) -> None:
    project1 = org.create_project()
    org.create_release("foobar@1.0.0", [project1])
    org.create_release("foobar@2.0.0", [project1])
    data = meta(org, "foobar@1.0.0", project=project1["id"])
    assert data["nextReleaseVersion"] == "foobar@2.0.0"
    assert data["prevReleaseVersion"] is None
    data = meta(org, "foobar@2.0.0", project=project1["id"])
    assert data["nextReleaseVersion"] is None
    assert data["prevReleaseVersion"] == "foobar@1.0.0"


def test_organization_release_details__ReleaseDetailsTest__test_get_prev_and_next_release_to_current_release_on_date_sort_env_filter_applied(  # noqa: E501 (Sentry's test name)
    org: Org,
) -> None:
    project1 = three_releases(org)
    deploy(org, "foobar@3.0.0", "prod", project1)
    deploy(org, "foobar@1.0.0", "prod", project1)
    data = meta(org, "foobar@3.0.0", project=project1["id"], environment="prod")
    assert data["nextReleaseVersion"] is None
    assert data["prevReleaseVersion"] == "foobar@1.0.0"


def test_organization_release_details__ReleaseDetailsTest__test_get_prev_and_next_release_to_current_release_on_date_sort_status_filter_applied(  # noqa: E501 (Sentry's test name)
    org: Org,
) -> None:
    project1 = three_releases(org)
    assert org.put(org.release_url("foobar@3.0.0"), {"status": "archived"}).status_code == 200
    deploy(org, "foobar@3.0.0", "prod", project1)
    deploy(org, "foobar@1.0.0", "prod", project1)
    data = meta(org, "foobar@3.0.0", project=project1["id"], status="archived")
    assert data["prevReleaseVersion"] is None
    assert data["nextReleaseVersion"] is None


def test_organization_release_details__ReleaseDetailsTest__test_get_prev_and_next_release_to_current_release_on_date_sort_query_filter_applied(  # noqa: E501 (Sentry's test name)
    org: Org,
) -> None:
    project1 = three_releases(org, middle="foobar@1.0.5")
    data = meta(org, "foobar@1.0.5", project=project1["id"], query="foobar@1")
    assert data["prevReleaseVersion"] == "foobar@1.0.0"
    assert data["nextReleaseVersion"] is None


def test_organization_release_details__ReleaseDetailsTest__test_get_prev_and_next_release_on_date_sort_does_not_apply_stats_period_filter(  # noqa: E501 (Sentry's test name)
    org: Org,
) -> None:
    """Sentry makes foobar@3.0.0 eight days old; here it is the first one created."""
    project1 = org.create_project()
    for version in ("foobar@3.0.0", "foobar@1.0.0", "foobar@2.0.0"):
        org.create_release(version, [project1])
    data = meta(org, "foobar@1.0.0", project=project1["id"], summaryStatsPeriod="24h")
    assert data["nextReleaseVersion"] == "foobar@2.0.0"
    assert data["prevReleaseVersion"] == "foobar@3.0.0"


def test_organization_release_details__ReleaseDetailsTest__test_get_first_and_last_release_on_date_sort(
    org: Org,
) -> None:
    project1 = three_releases(org)
    data = meta(org, "foobar@1.0.0", project=project1["id"])
    assert data["firstReleaseVersion"] == "foobar@1.0.0"
    assert data["lastReleaseVersion"] == "foobar@3.0.0"


def test_organization_release_details__ReleaseDetailsTest__test_get_first_and_last_release_on_date_sort_with_exact_same_date(  # noqa: E501 (Sentry's test name)
    org: Org,
) -> None:
    project1 = org.create_project()
    for version in ("foobar@2.0.0", "foobar@1.0.0", "foobar@3.0.0"):
        org.create_release(version, [project1])
    data = meta(org, "foobar@1.0.0", project=project1["id"])
    assert data["firstReleaseVersion"] == "foobar@2.0.0"
    assert data["lastReleaseVersion"] == "foobar@3.0.0"


def test_organization_release_details__ReleaseDetailsTest__test_get_first_and_last_release_on_date_sort_env_filter_applied(  # noqa: E501 (Sentry's test name)
    org: Org,
) -> None:
    project1 = org.create_project()
    for version in ("foobar@1.0.0", "foobar@2.0.0", "foobar@3.0.0", "foobar@4.0.0"):
        org.create_release(version, [project1])
    deploy(org, "foobar@2.0.0", "prod", project1)
    deploy(org, "foobar@3.0.0", "prod", project1)
    data = meta(org, "foobar@3.0.0", project=project1["id"], environment="prod")
    assert data["firstReleaseVersion"] == "foobar@2.0.0"
    assert data["lastReleaseVersion"] == "foobar@3.0.0"


def test_organization_release_details__ReleaseDetailsTest__test_get_first_and_last_release_on_non_date_sort(
    org: Org,
) -> None:
    project1 = org.create_project()
    org.create_release("foobar@1.0.0", [project1])
    response = details(org, "foobar@1.0.0", project=project1["id"], sort="sessions")
    assert response.status_code == 400
    assert response.get_json()["detail"] == "invalid sort"


def test_organization_release_details__ReleaseDetailsTest__test_get_first_and_last_release_when_project_has_no_releases(  # noqa: E501 (Sentry's test name)
    org: Org,
) -> None:
    """The environment ``test`` is made by a deploy of another project's release."""
    project1, other = org.create_project(), org.create_project()
    org.create_release("foobar@2.0.0", [project1])
    org.create_release("other", [other])
    deploy(org, "other", "test", other)
    data = meta(org, "foobar@2.0.0", project=project1["id"], environment="test")
    assert data["firstReleaseVersion"] is None
    assert data["lastReleaseVersion"] is None


def test_organization_release_details__ReleaseDetailsTest__test_with_adoption_stages(org: Org) -> None:
    project1 = org.create_project()
    org.create_release("1", [project1])
    response = details(org, "1")
    assert response.status_code == 200, response.get_json()
    # Not returned because we don't have `adoptionStages=1`.
    assert "adoptionStages" not in response.get_json()
    response = details(org, "1", adoptionStages=1)
    assert response.status_code == 200, response.get_json()
    assert "adoptionStages" in response.get_json()


# UpdateReleaseDetailsTest


@pytest.mark.parametrize("form", ["refs", "headCommits"])
def test_organization_release_details__UpdateReleaseDetailsTest__test_simple(org: Org, form: str) -> None:
    """Sentry: ``test_simple`` and ``test_deprecated_head_commits``."""
    org.add_repository("example/example")
    org.add_repository("example/example2")
    project, project2 = org.create_project(), org.create_project()
    org.create_release("000000000", [project])
    org.create_release("abcabcabc", [project])
    org.create_release("12345678", [project2])
    org.put(
        org.release_url("000000000"),
        {
            "ref": "master",
            "headCommits": [
                {"currentId": "0" * 40, "repository": "example/example"},
                {"currentId": "0" * 40, "repository": "example/example2"},
            ],
        },
    )
    if form == "refs":
        change: dict[str, Any] = {
            "refs": [
                {"commit": "a" * 40, "repository": "example/example"},
                {"commit": "b" * 40, "repository": "example/example2"},
            ]
        }
    else:
        change = {
            "headCommits": [
                {"currentId": "a" * 40, "repository": "example/example"},
                {"currentId": "b" * 40, "repository": "example/example2"},
            ]
        }
    response = org.put(org.release_url("abcabcabc"), {"ref": "master", **change})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["version"] == "abcabcabc"
    assert details(org, "abcabcabc").get_json()["ref"] == "master"


def test_organization_release_details__UpdateReleaseDetailsTest__test_commits(org: Org) -> None:
    project = org.create_project()
    org.create_release("abcabcabc", [project])
    response = org.put(org.release_url("abcabcabc"), {"commits": [{"id": "a" * 40}, {"id": "b" * 40}]})
    assert response.status_code == 200, response.get_json()
    assert len(org.get(org.release_url("abcabcabc", "commits/")).get_json()) == 2


def test_organization_release_details__UpdateReleaseDetailsTest__test_commits_patchset_character_limit_255(
    org: Org,
) -> None:
    project = org.create_project()
    org.create_release("abcabcabc", [project])
    patch_set = [{"path": "/a/really/long/path/" + ("z" * 255), "type": "A"}]
    response = org.put(org.release_url("abcabcabc"), {"commits": [{"id": "a" * 40, "patch_set": patch_set}]})
    assert response.status_code == 200, response.get_json()
    assert len(org.get(org.release_url("abcabcabc", "commits/")).get_json()) == 1


def test_organization_release_details__UpdateReleaseDetailsTest__test_commits_patchset_character_limit_reached(  # noqa: E501 (Sentry's test name)
    org: Org,
) -> None:
    project = org.create_project()
    org.create_release("abcabcabc", [project])
    patch_set = [{"path": "z" * (255 * 2 + 1), "type": "A"}]
    response = org.put(org.release_url("abcabcabc"), {"commits": [{"id": "a" * 40, "patch_set": patch_set}]})
    assert response.status_code == 400, response.get_json()


def test_organization_release_details__UpdateReleaseDetailsTest__test_commits_lock_conflict(org: Org) -> None:
    project = org.create_project("foo")
    release = org.create_release("1.2.1", [project])
    with commit_lock(org.services.redis, org.id, int(release["id"])):
        response = org.put(org.release_url("1.2.1"), {"commits": [{"id": "a" * 40}, {"id": "b" * 40}]})
    assert response.status_code == 409, response.get_json()
    assert "Release commits" in response.get_json()["detail"]


def test_organization_release_details__UpdateReleaseDetailsTest__test_release_archiving(org: Org) -> None:
    project = org.create_project()
    org.create_release("abcabcabc", [project])
    response = org.put(org.release_url("abcabcabc"), {"status": "archived"})
    assert response.status_code == 200, response.get_json()
    assert details(org, "abcabcabc").get_json()["status"] == "archived"


@pytest.mark.parametrize("version", ["abcabcabc", "x" * 65])
def test_organization_release_details__UpdateReleaseDetailsTest__test_activity_generation(
    org: Org, version: str
) -> None:
    """Sentry: ``test_activity_generation`` and ``test_activity_generation_long_release``."""
    project = org.create_project()
    org.create_release(version, [project])
    response = org.put(org.release_url(version), {"dateReleased": now_iso()})
    assert response.status_code == 200, response.get_json()
    assert details(org, version).get_json()["dateReleased"]


def test_organization_release_details__UpdateReleaseDetailsTest__test_org_auth_token(org: Org) -> None:
    good = org.token("org:ci")
    org.add_repository("example/example")
    project = org.create_project()
    org.create_release("000000000", [project])
    org.create_release("abcabcabc", [project])
    org.put(
        org.release_url("000000000"),
        {"ref": "master", "headCommits": [{"currentId": "0" * 40, "repository": "example/example"}]},
        token=good,
    )
    response = org.put(
        org.release_url("abcabcabc"),
        {"ref": "master", "refs": [{"commit": "a" * 40, "repository": "example/example"}]},
        token=good,
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["version"] == "abcabcabc"
    assert details(org, "abcabcabc").get_json()["ref"] == "master"


# ReleaseDeleteTest


def test_organization_release_details__ReleaseDeleteTest__test_simple(org: Org) -> None:
    project = org.create_project()
    org.create_release("abcabcabc", [project])
    response = org.delete(org.release_url("abcabcabc"))
    assert response.status_code == 204, response.get_data(as_text=True)
    assert details(org, "abcabcabc").status_code == 404


def test_organization_release_details__ReleaseDeleteTest__test_existing_group(org: Org) -> None:
    project = org.create_project()
    org.create_release("abcabcabc", [project])
    r = org.post(
        f"/api/0/projects/{org.slug}/{project['slug']}/issues/", {"title": "t", "firstRelease": "abcabcabc"}
    )
    assert r.status_code == 201, r.get_json()
    response = org.delete(org.release_url("abcabcabc"))
    assert response.status_code == 400, response.get_json()
    assert details(org, "abcabcabc").status_code == 200


def test_organization_release_details__ReleaseDeleteTest__test_bad_repo_name(org: Org) -> None:
    project = org.create_project("foo")
    org.create_release("abcabcabc", [project])
    response = org.put(
        org.release_url("abcabcabc"),
        {
            "version": "1.2.1",
            "projects": [project["slug"]],
            "refs": [{"repository": "not_a_repo", "commit": "a" * 40}],
        },
    )
    assert response.status_code == 400
    assert response.get_json() == {"refs": ["Invalid repository names: not_a_repo"]}


def test_organization_release_details__ReleaseDeleteTest__test_bad_commit_list(org: Org) -> None:
    project = org.create_project("foo")
    org.create_release("abcabcabc", [project])
    response = org.put(
        org.release_url("abcabcabc"),
        {"version": "1.2.1", "projects": [project["slug"]], "commits": [{"repository": "a_repo"}]},
    )
    assert response.status_code == 400
    assert response.get_json() == {"commits": {"id": ["This field is required."]}}


# ReleaseSerializerTest (OrganizationReleaseSerializer: the PUT body, through the route)


@pytest.fixture
def release(org: Org) -> Org:
    org.add_repository("repo/name")
    org.add_repository("repo2/name")
    org.create_release("abcabcabc")
    return org


def put(org: Org, body: dict[str, Any]) -> Any:
    return org.put(org.release_url("abcabcabc"), body)


def test_organization_release_details__ReleaseSerializerTest__test_simple(release: Org) -> None:
    response = put(
        release,
        {
            "ref": "master",
            "url": "https://example.com",
            "dateReleased": "1000-10-10T06:06",
            "commits": [{"id": "a" * 40}, {"id": "b" * 40}],
            "headCommits": [
                {"currentId": "0" * 40, "repository": "repo/name"},
                {"currentId": "0" * 40, "repository": "repo2/name"},
            ],
            "refs": [
                {"commit": "a" * 40, "previousCommit": "", "repository": "repo/name"},
                {"commit": "b" * 40, "previousCommit": "", "repository": "repo2/name"},
            ],
        },
    )
    assert response.status_code == 200, response.get_json()
    data = details(release, "abcabcabc").get_json()
    assert data["ref"] == "master"
    assert data["url"] == "https://example.com"
    assert datetime.fromisoformat(data["dateReleased"]) == datetime(1000, 10, 10, 6, 6, tzinfo=UTC)
    commits = release.get(release.release_url("abcabcabc", "commits/")).get_json()
    assert sorted(c["id"] for c in commits) == ["a" * 40, "b" * 40]


def test_organization_release_details__ReleaseSerializerTest__test_fields_not_required(release: Org) -> None:
    assert put(release, {}).status_code == 200


@pytest.mark.parametrize("field", ["commits", "headCommits", "refs"])
def test_organization_release_details__ReleaseSerializerTest__test_do_not_allow_null_commits(
    release: Org, field: str
) -> None:
    """Sentry: ``test_do_not_allow_null_commits``, ``..._null_head_commits``, ``..._null_refs``."""
    assert put(release, {field: None}).status_code == 400


def test_organization_release_details__ReleaseSerializerTest__test_ref_limited_by_max_version_length(
    release: Org,
) -> None:
    assert put(release, {"ref": "a" * MAX_VERSION_LENGTH}).status_code == 200
    assert put(release, {"ref": "a" * (MAX_VERSION_LENGTH + 1)}).status_code == 400


def test_organization_release_details__ReleaseSerializerTest__test_author_email_patch(release: Org) -> None:
    response = put(release, {"commits": [{"id": "a", "author_email": "email[test]@example.org"}]})
    assert response.status_code == 200, response.get_json()
