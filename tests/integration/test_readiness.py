"""/readyz: ready only while the event store, the views, Redis, the views' lag and the projection
worker's heartbeat all are; otherwise 503 with the reasons (never a 500). /metrics exports the
heartbeat's age and the parked events."""

from __future__ import annotations

import dataclasses
import re
import time

import redis
from flask.testing import FlaskClient

from api.app import create_app
from commands.metrics import BlockMetric
from infra.bootstrap import Services, bootstrap
from infra.config import Settings
from infra.worker import wait_until
from tests.conftest import Tenant, make_tenant, serving


def ready(client: FlaskClient) -> tuple[int, list[str]]:
    r = client.get("/readyz")
    return r.status_code, r.get_json()["reasons"]


def test_ready_while_the_worker_keeps_the_views_current(client: FlaskClient, tenant: Tenant) -> None:
    assert wait_until(lambda: ready(client) == (200, []), 5), ready(client)


def test_a_stopped_worker_is_named_once_its_heartbeat_is_older_than_the_limit(
    client: FlaskClient, services: Services
) -> None:
    assert wait_until(lambda: ready(client)[0] == 200, 5)
    assert services.worker is not None
    services.worker.shutdown(services._thread)
    services.settings = dataclasses.replace(services.settings, ready_max_heartbeat_age=0.3)
    time.sleep(0.5)
    status, reasons = ready(client)
    assert status == 503
    [reason] = reasons
    assert re.fullmatch(
        r"the projection worker last reported \d+ s ago \(EVENTRY_READY_MAX_HEARTBEAT_AGE is 0.3\): "
        r"is `eventry worker` running\?",
        reason,
    ), reason


def test_no_heartbeat_at_all_names_the_missing_worker(settings: Settings) -> None:
    """A deployment whose worker never ran (bootstrap without one, as a lone API process)."""
    from infra.bootstrap import migrate

    migrate(settings)
    svc = bootstrap(settings, create_tables=False)
    try:
        status, reasons = ready(create_app(svc).test_client())
        assert status == 503
        assert reasons == ["no projection worker has reported: is `eventry worker` running?"]
    finally:
        svc.close()


def test_a_view_lagging_more_than_the_limit_is_named(
    client: FlaskClient, services: Services, tenant: Tenant
) -> None:
    assert wait_until(lambda: ready(client)[0] == 200, 5)
    services.settings = dataclasses.replace(services.settings, ready_max_lag=1)
    assert services.worker is not None
    services.worker.shutdown(services._thread)
    services.heartbeat.redis.set(services.heartbeat.key, repr(time.time()))  # the worker "lives"
    for name in ("a", "b"):
        services.dispatch(BlockMetric(tenant.project_id, f"c:custom/{name}@none"))
    status, reasons = ready(client)
    assert status == 503
    assert "view project_options is 2 events behind the log (EVENTRY_READY_MAX_LAG is 1)" in reasons
    assert all("behind the log" in r for r in reasons)


def test_redis_down_is_a_reason_not_an_error(client: FlaskClient, services: Services) -> None:
    services.redis = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    status, reasons = ready(client)
    assert (status, reasons) == (503, ["Redis: unavailable (ConnectionError)"])


def test_missing_tables_are_a_503_naming_the_migration(pg_settings: Settings) -> None:
    """PostgreSQL before `eventry migrate` (servers never create tables there): readiness and
    every route answer 503 with the fix, never a 500."""
    svc = bootstrap(pg_settings, create_tables=False)
    try:
        svc.heartbeat.beat()
        client = create_app(svc).test_client()
        status, reasons = ready(client)
        assert status == 503
        assert "the event store: not migrated: run `eventry migrate`" in reasons
        assert "the views are not migrated: run `eventry migrate`" in reasons
        r = client.get("/api/0/projects/acme/web/options/", headers={"Authorization": "Bearer " + "a" * 64})
        assert r.status_code == 503
        assert r.get_json() == {"detail": "The service is not migrated yet; run `eventry migrate`"}
    finally:
        svc.close()


def test_a_log_without_its_append_function_is_a_503_naming_the_migration(pg_settings: Settings) -> None:
    """Code newer than the schema (the append function comes with `eventry migrate`): a write
    answers 503 with the fix, never a 500, and appends nothing."""
    with serving(pg_settings) as svc:
        t = make_tenant(svc)
        head = svc.store.head()
        with svc.store.recorder.datastore.get_connection() as conn:
            conn.execute(f"DROP FUNCTION {svc.store.recorder.append_function.as_string(conn)}")
        client = create_app(svc).test_client()
        r = client.put(
            f"/api/0/projects/{t.org_slug}/{t.project_slug}/metrics/visibility/",
            json={"operationType": "blockMetric", "metricMri": "c:custom/a@none"},
            headers=t.headers(),
        )
        assert r.status_code == 503
        assert r.get_json() == {"detail": "The service is not migrated yet; run `eventry migrate`"}
        assert svc.store.head() == head


def test_metrics_export_the_heartbeat_age_and_parked_events(client: FlaskClient, services: Services) -> None:
    assert wait_until(lambda: ready(client)[0] == 200, 5)
    text = client.get("/metrics").get_data(as_text=True)
    [age] = [line for line in text.splitlines() if line.startswith("eventry_worker_heartbeat_age_seconds ")]
    assert 0 <= float(age.split()[1]) < 5
    assert "# TYPE eventry_projection_parked_events gauge" in text
