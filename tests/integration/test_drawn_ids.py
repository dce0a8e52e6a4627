"""A drawn id that is already taken never reaches the log (issue 10, finding 9).

Redis hands out snowflake ids; one that lost its counters (a restart without persistence, or
one per process as the embedded default once had) hands the same id out again. The second
organization's entity must then be refused (409, nothing appended) or drawn again, never
appended under the first one's id, where it would stop the view whose primary key it is.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from flask.testing import FlaskClient

from commands.base import IdCollision
from commands.groups import CreateGroup
from commands.organizations import CreateOrganization, CreateProject
from commands.project_keys import CreateProjectKey
from commands.releases import AddRepository, CreateRelease
from infra import draws
from infra.bootstrap import Services
from infra.snowflake import MAX_RETRY_DETAIL, SnowflakeGenerator, counter_key
from tests.conftest import OPERATOR, Tenant, make_tenant

SCOPES = ("project:releases", "project:write", "org:write", "project:read")
EPOCH = 946598400.0


def frozen(services: Services, second: int) -> SnowflakeGenerator:
    return SnowflakeGenerator(services.redis, clock=lambda: EPOCH + second + 0.5, epoch=EPOCH)


@pytest.fixture
def second() -> int:
    """A second no other test run draws ids in: its Redis counter is this test's own."""
    return random.randint(3_000_000_000, 4_000_000_000)


def lose_counters(services: Services, second: int) -> None:
    """What a Redis restart without persistence does to the sequence of ``second``."""
    services.redis.delete(counter_key(0, second))


def releases_url(t: Tenant, tail: str = "") -> str:
    return f"/api/0/organizations/{t.org_slug}/releases/{tail}"


def assert_views_follow(client: FlaskClient, services: Services, *tenants: Tenant) -> None:
    """Every view catches up with the whole log, and each organization lists what it made."""
    services.engine.catch_up_all()
    position = str(services.store.head())
    for t in tenants:
        listed = client.get(releases_url(t), headers=t.headers(**{"X-Eventry-Min-Position": position}))
        assert listed.status_code == 200, listed.get_json()


def test_a_release_id_taken_by_another_organization_is_refused(
    client: FlaskClient, services: Services, second: int
) -> None:
    a, b = make_tenant(services, scopes=SCOPES), make_tenant(services, scopes=SCOPES)
    services.snowflake = frozen(services, second)
    first = client.post(
        releases_url(a), json={"version": "1.0", "projects": [a.project_slug]}, headers=a.headers()
    )
    assert first.status_code == 201
    lose_counters(services, second)
    head = services.store.head()
    again = client.post(
        releases_url(b), json={"version": "1.0", "projects": [b.project_slug]}, headers=b.headers()
    )
    assert again.status_code == 409 and again.get_json() == {"detail": MAX_RETRY_DETAIL}
    assert services.store.head() == head
    retried = client.post(
        releases_url(b), json={"version": "1.0", "projects": [b.project_slug]}, headers=b.headers()
    )
    assert retried.status_code == 201 and retried.get_json()["id"] != first.get_json()["id"]
    assert_views_follow(client, services, a, b)


def test_a_deploy_id_taken_by_another_organization_is_refused(
    client: FlaskClient, services: Services, second: int
) -> None:
    a, b = make_tenant(services, scopes=SCOPES), make_tenant(services, scopes=SCOPES)
    for t in (a, b):
        body = {"version": "2.0", "projects": [t.project_slug]}
        assert client.post(releases_url(t), json=body, headers=t.headers()).status_code == 201
    services.snowflake = frozen(services, second)
    deploy = {"environment": "production"}
    first = client.post(releases_url(a, "2.0/deploys/"), json=deploy, headers=a.headers())
    assert first.status_code == 201
    lose_counters(services, second)
    head = services.store.head()
    again = client.post(releases_url(b, "2.0/deploys/"), json=deploy, headers=b.headers())
    assert again.status_code == 409 and services.store.head() == head
    assert_views_follow(client, services, a, b)


def test_a_repository_id_taken_by_another_organization_is_refused(
    client: FlaskClient, services: Services, second: int
) -> None:
    """Repositories first named in a commit list get drawn ids too."""
    a, b = make_tenant(services, scopes=SCOPES), make_tenant(services, scopes=SCOPES)
    for t in (a, b):
        body = {"version": "3.0", "projects": [t.project_slug]}
        assert client.post(releases_url(t), json=body, headers=t.headers()).status_code == 201
    services.snowflake = frozen(services, second)
    commits = {"commits": [{"id": "a" * 40, "repository": "acme/app", "message": "first"}]}
    assert client.put(releases_url(a, "3.0/"), json=commits, headers=a.headers()).status_code == 200
    lose_counters(services, second)
    head = services.store.head()
    again = client.put(releases_url(b, "3.0/"), json=commits, headers=b.headers())
    assert again.status_code == 409 and services.store.head() == head
    assert_views_follow(client, services, a, b)
    repos = client.get(f"/api/0/organizations/{a.org_slug}/repos/", headers=a.headers())
    assert [r["name"] for r in repos.get_json()] == ["acme/app"]


def creations(a: Tenant, b: Tenant, taken: int) -> dict[str, Any]:
    """For each kind of entity with a drawn id, a creation in organization ``b`` under ``taken``."""
    suffixes, fallback = draws.slug_candidates()
    return {
        "organization": CreateOrganization(taken, f"org-{taken}", "again"),
        "project": CreateProject(b.org_id, taken, "again", "python", suffixes, fallback),
        "project_key": CreateProjectKey(b.project_id, draws.new_key(taken), "again"),
        "group": CreateGroup(b.org_id, b.project_id, taken, "again"),
        "release": CreateRelease(b.org_id, "again", taken, (b.project_id,)),
        "repository": AddRepository(b.org_id, taken, "acme/again", "git", None, {}),
    }


def first_use(services: Services, kind: str, a: Tenant, taken: int) -> None:
    suffixes, fallback = draws.slug_candidates()
    command = {
        "organization": CreateOrganization(taken, f"org-first-{taken}", "first"),
        "project": CreateProject(a.org_id, taken, "first", "python", suffixes, fallback),
        "project_key": CreateProjectKey(a.project_id, draws.new_key(taken), "first"),
        "group": CreateGroup(a.org_id, a.project_id, taken, "first"),
        "release": CreateRelease(a.org_id, "first", taken, (a.project_id,)),
        "repository": AddRepository(a.org_id, taken, "acme/first", "git", None, {}),
    }[kind]
    services.dispatch(command, OPERATOR)


@pytest.mark.parametrize("kind", ["organization", "project", "project_key", "group", "release", "repository"])
def test_every_kind_of_drawn_id_is_unique_in_the_log(services: Services, kind: str) -> None:
    a, b = make_tenant(services), make_tenant(services)
    taken = random.randint(2**40, 2**50)
    first_use(services, kind, a, taken)
    head = services.store.head()
    with pytest.raises(IdCollision):
        services.dispatch(creations(a, b, taken)[kind], OPERATOR)
    assert services.store.head() == head
    services.engine.catch_up_all()
