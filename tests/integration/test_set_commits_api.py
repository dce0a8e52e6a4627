"""SetCommits through HTTP (sentry-behaviour 4.8), issue resolution from commit messages, the
commit lock, and a 10,000-commit request; on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from flask.testing import FlaskClient

from api.release_schemas import DATETIME_INVALID
from commands.groupreference import base32_encode
from infra.bootstrap import Services
from infra.releases import commit_lock, release_state
from projections import release_queries
from tests.conftest import Tenant, make_tenant


@pytest.fixture
def t(services: Services) -> Tenant:
    return make_tenant(
        services, scopes=("project:releases", "project:write", "org:write", "event:write", "event:read")
    )


def release(client: FlaskClient, t: Tenant, version: str = "1.0", **body: Any) -> Any:
    r = client.post(
        f"/api/0/organizations/{t.org_slug}/releases/",
        json={"version": version, "projects": [t.project_slug], **body},
        headers=t.headers(),
    )
    assert r.status_code in (201, 208), r.get_json()
    return r


def set_commits(client: FlaskClient, t: Tenant, commits: list[Any], version: str = "1.0") -> Any:
    return client.put(
        f"/api/0/organizations/{t.org_slug}/releases/{version}/",
        json={"commits": commits},
        headers=t.headers(),
    )


def get(client: FlaskClient, t: Tenant, path: str, position: str) -> Any:
    r = client.get(
        f"/api/0/organizations/{t.org_slug}/{path}", headers=t.headers(**{"X-Eventry-Min-Position": position})
    )
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_set_commits_rules(client: FlaskClient, t: Tenant) -> None:
    release(client, t)
    commits = [
        {
            "id": "a" * 40,
            "repository": "acme/app",
            "message": "old",
            "timestamp": "2024-01-01T00:00:00Z",
            "author_name": "Dev One",
            "author_email": "Dev@Example.com",
        },
        {
            "id": "b" * 40,
            "repository": "acme/app",
            "message": "newest",
            "timestamp": "2024-03-01T10:00:00+02:00",
            "author_name": "Dev One",
            "author_email": "dev@example.com",
            "patch_set": [{"path": "src/a.py", "type": "M"}, {"path": "src/b.py", "type": "A"}],
        },
        {
            "id": "c" * 40,
            "repository": "acme/lib",
            "message": "skip me #skipsentry",
            "timestamp": "2024-04-01T00:00:00Z",
        },
        {"id": "d" * 40, "message": "no repository, no timestamp", "author_name": "Jane Q. Doe!"},
        {"id": "e" * 40, "repository": "acme/lib", "message": "lib", "timestamp": "2024-02-01T00:00:00Z"},
    ]
    r = set_commits(client, t, commits)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["commitCount"] == 4
    assert (
        body["lastCommit"]["id"] == "b" * 40
        and body["lastCommit"]["dateCreated"] == "2024-03-01T08:00:00.000000Z"
    )
    assert body["authors"] == [
        {"name": "Dev One", "email": "dev@example.com"},
        {"name": "Jane Q. Doe!", "email": "janeq.doe@localhost"},
    ]
    position = r.headers["X-Eventry-Position"]
    listed = get(client, t, "releases/1.0/commits/", position)
    assert [c["id"] for c in listed] == ["b" * 40, "e" * 40, "a" * 40, "d" * 40]  # newest first, undated last
    assert listed[0]["repository"]["name"] == "acme/app" and listed[0]["author"]["email"] == "dev@example.com"
    assert listed[3]["repository"]["name"] == f"organization-{t.org_id}"
    repos = get(client, t, "repos/", position)
    assert sorted(r["name"] for r in repos) == ["acme/app", "acme/lib", f"organization-{t.org_id}"]
    assert all(r["provider"] == {"id": "unknown", "name": "Unknown Provider"} for r in repos)
    assert all(r["dateCreated"].endswith("Z") and isinstance(r["id"], str) for r in repos)


def test_head_commits_are_the_newest_per_repository(
    client: FlaskClient, services: Services, t: Tenant
) -> None:
    release(client, t)
    r = set_commits(
        client,
        t,
        [
            {"id": "1" * 40, "repository": "r/one", "timestamp": "2024-01-01T00:00:00Z"},
            {"id": "2" * 40, "repository": "r/one", "timestamp": "2024-01-02T00:00:00Z"},
            {"id": "3" * 40, "repository": "r/two", "timestamp": "2024-01-01T00:00:00Z"},
        ],
    )
    state = release_state(services, t.org_id, "1.0")
    repos = {r["name"]: r["id"] for r in get(client, t, "repos/", r.headers["X-Eventry-Position"])}
    assert state.head_commits == {repos["r/one"]: "2" * 40, repos["r/two"]: "3" * 40}
    with services.engine.read("releases") as view:
        assert release_queries.head_commit(view, state.release_id or 0, int(repos["r/one"])) == "2" * 40


def test_replacing_the_commits_replaces_them_completely(client: FlaskClient, t: Tenant) -> None:
    release(client, t)
    set_commits(client, t, [{"id": f"{i:040x}", "repository": "r/x"} for i in range(5)])
    r = set_commits(client, t, [{"id": "f" * 40, "repository": "r/x", "message": "only"}])
    assert r.get_json()["commitCount"] == 1
    listed = get(client, t, "releases/1.0/commits/", r.headers["X-Eventry-Position"])
    assert [(c["id"], c["message"]) for c in listed] == [("f" * 40, "only")]


@pytest.mark.parametrize(
    ("commit", "errors"),
    [
        ({}, {"id": ["This field is required."]}),
        ({"id": "x" * 65}, {"id": ["Ensure this field has no more than 64 characters."]}),
        (
            {"id": "a", "repository": "r" * 65},
            {"repository": ["Ensure this field has no more than 64 characters."]},
        ),
        (
            {"id": "a", "author_email": "e" * 76},
            {"author_email": ["Ensure this field has no more than 75 characters."]},
        ),
        ({"id": "a", "timestamp": "yesterday"}, {"timestamp": [DATETIME_INVALID]}),
        (
            {"id": "a", "patch_set": [{"path": "f", "type": "X"}]},
            {"patch_set": {"type": ["Commit patch_set type X is not supported."]}},
        ),
        (
            {"id": "a", "patch_set": [{"path": "f", "type": "A"}, None]},
            {"patch_set": ["This field may not be null."]},
        ),
        (
            {"id": "a", "patch_set": ["f"]},
            {"patch_set": {"non_field_errors": ["Invalid data. Expected a dictionary, but got str."]}},
        ),
    ],
)
def test_invalid_commits_are_refused(
    client: FlaskClient, t: Tenant, commit: dict[str, Any], errors: dict[str, Any]
) -> None:
    """Sentry's ListField answers the first bad item's errors, not keyed by its index."""
    release(client, t)
    r = set_commits(client, t, [{"id": "ok"}, commit, {"id": "b" * 65}])
    assert r.status_code == 400
    assert r.get_json() == {"commits": errors}


def test_a_null_or_non_object_commit_is_refused(client: FlaskClient, t: Tenant) -> None:
    release(client, t)
    for commits, errors in (
        ([{"id": "ok"}, None], ["This field may not be null."]),
        ([7], {"non_field_errors": ["Invalid data. Expected a dictionary, but got int."]}),
    ):
        r = set_commits(client, t, commits)
        assert (r.status_code, r.get_json()) == (400, {"commits": errors}), commits


def create_issue(client: FlaskClient, t: Tenant, title: str) -> dict[str, Any]:
    r = client.post(
        f"/api/0/projects/{t.org_slug}/{t.project_slug}/issues/", json={"title": title}, headers=t.headers()
    )
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def test_fixes_short_id_resolves_the_issue_in_the_release(client: FlaskClient, t: Tenant) -> None:
    first, second, untouched = (create_issue(client, t, f"Boom {i}") for i in range(3))
    assert [first["shortId"], second["shortId"]] == [f"WEB-APP-{base32_encode(1)}", "WEB-APP-2"]
    release(client, t, "2.0")
    r = set_commits(
        client,
        t,
        [
            {"id": "1" * 40, "repository": "acme/app", "message": f"Fixes {first['shortId']}"},
            {
                "id": "2" * 40,
                "repository": "acme/app",
                "message": f"Resolves: [{second['shortId']}](https://x/issues/9/)",
            },
            {"id": "3" * 40, "repository": "acme/app", "message": f"Mentions {untouched['shortId']} only"},
            {"id": "4" * 40, "repository": "acme/app", "message": "Fixes NOPE-999"},
        ],
        version="2.0",
    )
    assert r.status_code == 200, r.get_json()
    position = r.headers["X-Eventry-Position"]
    for issue, commit in ((first, "1" * 40), (second, "2" * 40)):
        got = get(client, t, f"issues/{issue['id']}/", position)
        assert got["status"] == "resolved" and got["inbox"] is None
        assert got["statusDetails"] == {"inRelease": "2.0"}
        activity = get(client, t, f"issues/{issue['id']}/activities/", position)["activity"]
        assert [(a["type"], a["data"]["commit"]["id"]) for a in activity] == [
            ("set_resolved_in_commit", commit)
        ]
        history = get(client, t, f"issues/{issue['id']}/history/", position)
        assert [(h["status"], h["statusId"], h["release"]) for h in history] == [
            ("set_resolved_in_commit", 12, None),
            ("set_resolved_in_release", 11, "2.0"),
        ]
    still = get(client, t, f"issues/{untouched['id']}/", position)
    assert still["status"] == "unresolved" and still["inbox"]["reason"] == 0
    # the same commits again: nothing new happens to the resolved issues
    again = set_commits(
        client, t, [{"id": "1" * 40, "repository": "acme/app", "message": f"Fixes {first['shortId']}"}], "2.0"
    )
    activity = get(client, t, f"issues/{first['id']}/activities/", again.headers["X-Eventry-Position"])[
        "activity"
    ]
    assert len(activity) == 1


def test_another_organizations_issue_is_not_resolved(
    client: FlaskClient, services: Services, t: Tenant
) -> None:
    other = make_tenant(services, project="Web App", scopes=("project:write", "event:write", "event:read"))
    foreign = create_issue(client, other, "theirs")
    release(client, t)
    r = set_commits(client, t, [{"id": "1" * 40, "message": f"Fixes {foreign['shortId']}"}])
    got = client.get(
        f"/api/0/organizations/{other.org_slug}/issues/{foreign['id']}/",
        headers=other.headers(**{"X-Eventry-Min-Position": r.headers["X-Eventry-Position"]}),
    ).get_json()
    assert got["status"] == "unresolved"


def test_a_busy_commit_lock_answers_409(client: FlaskClient, services: Services, t: Tenant) -> None:
    release(client, t)
    state = release_state(services, t.org_id, "1.0")
    with commit_lock(services.redis, t.org_id, state.release_id or 0):
        r = set_commits(client, t, [{"id": "a" * 40}])
    assert r.status_code == 409
    assert r.get_json() == {"detail": "Release commits are currently being processed"}
    assert set_commits(client, t, [{"id": "a" * 40}]).status_code == 200  # released in finally


def test_concurrent_set_commits_never_mix(client: FlaskClient, services: Services, t: Tenant) -> None:
    release(client, t)
    lists = {n: [{"id": f"{n}{i:039x}", "repository": "r/x"} for i in range(300)] for n in "ab"}
    statuses: dict[str, int] = {}

    def run(name: str) -> None:
        statuses[name] = set_commits(client, t, lists[name]).status_code

    threads = [threading.Thread(target=run, args=(n,)) for n in lists]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses.values()) in ([200, 200], [200, 409])
    services.engine.wait(services.store.head(), ["releases"])
    with services.engine.read("releases") as view:
        state = release_state(services, t.org_id, "1.0")
        ids = [
            c["id"] for c in release_queries.release_commits(view, t.org_id, state.release_id or 0, 0, 1000)
        ]
    assert ids in ([c["id"] for c in lists["a"]], [c["id"] for c in lists["b"]])


def test_ten_thousand_commits_in_one_request(client: FlaskClient, services: Services, t: Tenant) -> None:
    release(client, t)
    commits = [
        {
            "id": f"{i:040x}",
            "repository": "acme/big",
            "message": f"change {i}",
            "author_email": f"dev{i % 50}@x.io",
            "timestamp": f"2024-01-01T00:00:00.{i:06d}Z",
            "patch_set": [{"path": f"f{i}.py", "type": "M"}],
        }
        for i in range(10_000)
    ]
    head = services.store.head()
    r = set_commits(client, t, commits)
    assert r.status_code == 200
    assert r.get_json()["commitCount"] == 10_000 and len(r.get_json()["authors"]) == 50
    assert services.store.head() - head <= 4  # one append: summary, commit list, one repository
    page = client.get(
        f"/api/0/organizations/{t.org_slug}/releases/1.0/commits/?per_page=100&cursor=100:99:0",
        headers=t.headers(**{"X-Eventry-Min-Position": r.headers["X-Eventry-Position"]}),
    )
    assert page.status_code == 200 and page.get_json()[-1]["id"] == f"{0:040x}"
    assert 'rel="next"; results="false"' in page.headers["Link"]
