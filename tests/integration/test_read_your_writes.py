"""Every read sees the caller's own writes, with no header (issue: read-your-writes).

The views here are caught up by hand, late, from another thread: a read that did not wait for
the caller's own write would answer from the stale view at once, and these tests would fail.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient

from api.app import create_app
from infra.bootstrap import Services, bootstrap, migrate
from infra.config import Settings
from tests.conftest import Tenant, make_tenant, make_token
from tests.integration.uploading import missing, sha1, upload

LATE = 0.4  # seconds before the views catch up


@pytest.fixture
def http(idle: Services) -> FlaskClient:
    return create_app(idle).test_client()


@pytest.fixture
def t(idle: Services) -> Tenant:
    tenant = make_tenant(idle, scopes=("project:read", "project:write", "project:admin", "org:write"))
    idle.engine.catch_up_all()
    return tenant


def catch_up_later(svc: Services) -> threading.Thread:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            threading.Event().wait(LATE)
            svc.engine.catch_up_all()
        except BaseException as exc:  # surfaced by join_clean
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.errors = errors  # type: ignore[attr-defined]
    thread.start()
    return thread


def join_clean(thread: threading.Thread) -> None:
    thread.join()
    assert thread.errors == []  # type: ignore[attr-defined]


def written(response: Any, status: int) -> None:
    assert response.status_code == status, response.get_json()


def test_a_deleted_project_reads_as_gone(http: FlaskClient, idle: Services, t: Tenant) -> None:
    written(http.delete(f"/api/0/projects/{t.org_slug}/{t.project_slug}/", headers=t.headers()), 204)
    late = catch_up_later(idle)
    response = http.get(f"/api/0/projects/{t.org_slug}/{t.project_slug}/", headers=t.headers())
    join_clean(late)
    assert response.status_code == 404


def test_an_organization_change_is_in_the_audit_log(http: FlaskClient, idle: Services, t: Tenant) -> None:
    url = f"/api/0/organizations/{t.org_slug}/"
    written(http.put(url, json={"name": "Renamed"}, headers=t.headers()), 200)
    late = catch_up_later(idle)
    rows = http.get(f"{url}audit-logs/?event=org.edit", headers=t.headers()).get_json()["rows"]
    join_clean(late)
    assert [r["event"] for r in rows] == ["org.edit"]
    assert http.get(url, headers=t.headers()).get_json()["name"] == "Renamed"


def test_a_created_project_is_found_by_the_next_write(http: FlaskClient, idle: Services, t: Tenant) -> None:
    response = http.post(
        f"/api/0/organizations/{t.org_slug}/projects/", json={"name": "Fresh"}, headers=t.headers()
    )
    written(response, 201)
    late = catch_up_later(idle)
    update = http.put(
        f"/api/0/projects/{t.org_slug}/{response.get_json()['slug']}/",
        json={"platform": "go"},
        headers=t.headers(),
    )
    join_clean(late)
    written(update, 200)


def test_a_blocked_metric_is_in_the_options_read(http: FlaskClient, idle: Services, t: Tenant) -> None:
    body = {"operationType": "blockMetric", "metricMri": "c:custom/clicks@none"}
    url = f"/api/0/projects/{t.org_slug}/{t.project_slug}/"
    written(http.put(f"{url}metrics/visibility/", json=body, headers=t.headers()), 200)
    late = catch_up_later(idle)
    options = http.get(f"{url}options/", headers=t.headers()).get_json()
    join_clean(late)
    assert "c:custom/clicks@none" in repr(options)


def test_a_created_release_is_listed(http: FlaskClient, idle: Services, t: Tenant) -> None:
    token, _ = make_token(idle, t.org_id, ("project:releases",))
    url = f"/api/0/organizations/{t.org_slug}/releases/"
    body = {"version": "1.0.0", "projects": [t.project_slug]}
    written(http.post(url, json=body, headers=t.headers(token)), 201)
    late = catch_up_later(idle)
    listed = http.get(url, headers=t.headers(token)).get_json()
    join_clean(late)
    assert [r["version"] for r in listed] == ["1.0.0"]


def test_another_callers_read_does_not_wait(http: FlaskClient, idle: Services, t: Tenant) -> None:
    """Marks are per caller: a reader that wrote nothing reads the view as it is."""
    other, _ = make_token(idle, t.org_id, ("project:read",))
    idle.engine.catch_up_all()
    written(http.delete(f"/api/0/projects/{t.org_slug}/{t.project_slug}/", headers=t.headers()), 204)
    response = http.get(f"/api/0/projects/{t.org_slug}/{t.project_slug}/", headers=t.headers(other))
    assert response.status_code == 200  # the view has not applied the delete yet
    idle.engine.catch_up_all()


def test_an_acknowledged_chunk_is_there_for_another_tokens_assemble(
    http: FlaskClient, idle: Services, t: Tenant
) -> None:
    """The upload answers without waiting for the uploads view (here nothing moves it: had it
    waited, it would have answered 503); whoever asks for the organization's missing chunks
    next, another token too, waits until the view shows them."""
    chunk = os.urandom(4000)
    written(upload(http, t, [chunk]), 200)
    other, _ = make_token(idle, t.org_id, ("project:write",))
    late = catch_up_later(idle)
    assert missing(http, dataclasses.replace(t, token=other), [sha1(chunk)]) == []
    join_clean(late)


def test_a_write_no_read_view_cares_about_does_not_delay_lookups(
    http: FlaskClient, idle: Services, t: Tenant
) -> None:
    """A metric block reaches no directory row: the next write's project lookup does not wait
    for it (with no worker it would wait out the whole read timeout and answer 503)."""
    url = f"/api/0/projects/{t.org_slug}/{t.project_slug}/metrics/visibility/"
    for mri in ("c:custom/a@none", "c:custom/b@none"):
        body = {"operationType": "blockMetric", "metricMri": mri}
        written(http.put(url, json=body, headers=t.headers()), 200)


def test_own_write_not_reached_in_time_is_a_503(idle: Services, t: Tenant) -> None:
    settings = Settings(**{**idle.settings.__dict__, "read_wait_timeout": 0.2})
    svc = bootstrap(settings, create_tables=False)
    try:
        http = create_app(svc).test_client()
        written(http.delete(f"/api/0/projects/{t.org_slug}/{t.project_slug}/", headers=t.headers()), 204)
        response = http.get(f"/api/0/projects/{t.org_slug}/{t.project_slug}/", headers=t.headers())
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "1"
    finally:
        svc.close()


def test_own_write_taken_but_not_yet_readable_is_waited_for(pg_settings: Settings) -> None:
    """On PostgreSQL an acknowledged write can sit above what readers may see (an older write
    transaction is still open across a hole an aborted append left): its writer's read waits
    for it, instead of calling its own position "beyond the end of the log"."""
    import psycopg

    from events import streams
    from infra.eventstore import IntegrityError
    from tests.conftest import OPERATOR

    migrate(pg_settings)
    svc = bootstrap(pg_settings, create_tables=False)
    svc.start_worker()
    try:
        t = make_tenant(svc)
        http = create_app(svc).test_client()
        older = psycopg.connect(pg_settings.postgres_conninfo(), autocommit=False)
        older.execute("SELECT pg_current_xact_id()")  # an open transaction with an id
        first = svc.store.read_stream(streams.organization(t.org_id))[0]
        with pytest.raises(IntegrityError):  # an aborted append: the positions it took stay empty
            svc.store.append([(first.stream, 1, first.event)], OPERATOR, datetime.now(UTC))
        url = f"/api/0/projects/{t.org_slug}/{t.project_slug}/"
        written(http.put(url, json={"platform": "go"}, headers=t.headers()), 200)
        assert svc.store.head() < svc.store.written()  # the write is taken, not yet readable

        def finish() -> None:
            threading.Event().wait(LATE)
            older.rollback()

        closer = threading.Thread(target=finish)
        closer.start()
        response = http.get(url, headers=t.headers())
        closer.join()
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["platform"] == "go"
    finally:
        older.close()
        svc.close()
