"""Health, metrics, the API root and the JSON error shape."""

from __future__ import annotations

import dataclasses
import uuid

from flask.testing import FlaskClient

from api.app import create_app
from infra.bootstrap import Services
from tests.conftest import Tenant


def test_healthz_answers_while_a_backing_service_is_down(client: FlaskClient, services: Services) -> None:
    """Liveness: the process answers; it is /readyz that looks at the backing services."""
    import redis

    assert client.get("/healthz").get_json() == {"status": "ok"}
    services.redis = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    r = client.get("/healthz")
    assert r.status_code == 200 and r.get_json() == {"status": "ok"}


def test_metrics_count_commands_events_and_lag(client: FlaskClient, tenant: Tenant) -> None:
    client.put(
        f"/api/0/projects/{tenant.org_slug}/{tenant.project_slug}/metrics/visibility/",
        json={"operationType": "blockMetric", "metricMri": "c:custom/x@none"},
        headers=tenant.headers(),
    )
    text = client.get("/metrics").get_data(as_text=True)
    assert 'eventry_commands_total{command="BlockMetric",outcome="ok"}' in text
    assert 'eventry_events_appended_total{topic="metrics.MetricBlocked.v2"}' in text
    assert 'eventry_projection_lag_events{projection="audit_log"}' in text
    assert "eventry_http_request_seconds_bucket" in text


def test_api_root_shows_the_tokens_scopes(client: FlaskClient, tenant: Tenant) -> None:
    assert client.get("/api/0/").get_json() == {"version": "0", "auth": None, "user": None}
    body = client.get("/api/0/", headers=tenant.headers()).get_json()
    assert body["auth"]["scopes"] == ["org:write", "project:read", "project:write"]


def test_unknown_routes_and_methods_are_json(client: FlaskClient, tenant: Tenant) -> None:
    r = client.get("/api/0/nothing/here/", headers=tenant.headers())
    assert r.status_code == 404 and "detail" in r.get_json()
    r = client.delete(
        f"/api/0/projects/{tenant.org_slug}/{tenant.project_slug}/metrics/visibility/",
        headers=tenant.headers(),
    )
    assert r.status_code == 405 and "detail" in r.get_json()


def test_request_ids_are_echoed_and_stored_on_events(
    client: FlaskClient, services: Services, tenant: Tenant
) -> None:
    r = client.put(
        f"/api/0/projects/{tenant.org_slug}/{tenant.project_slug}/metrics/visibility/",
        json={"operationType": "blockMetric", "metricMri": "c:custom/x@none"},
        headers=tenant.headers(**{"X-Request-ID": "req-123"}),
    )
    assert r.headers["X-Request-ID"] == "req-123"
    [recorded] = services.store.read_log(int(r.headers["X-Eventry-Position"]) - 1, 1)
    assert recorded.meta.request_id == "req-123"
    assert recorded.meta.actor_id == tenant.token_id and recorded.meta.ip_address == "127.0.0.1"


def test_a_request_without_an_id_gets_a_fresh_uuid4(client: FlaskClient) -> None:
    ids = {client.get("/healthz").headers["X-Request-ID"] for _ in range(20)}
    assert len(ids) == 20
    assert all(
        uuid.UUID(i).version == 4 and uuid.UUID(i).variant == uuid.RFC_4122 and uuid.UUID(i).hex == i
        for i in ids
    )


def test_trusted_proxies_give_the_audit_log_the_clients_address(services: Services, tenant: Tenant) -> None:
    """EVENTRY_TRUSTED_PROXIES=1: the address the proxy forwarded; 0: the header is ignored (a
    client could set it)."""
    path = f"/api/0/projects/{tenant.org_slug}/{tenant.project_slug}/metrics/visibility/"
    addresses = []
    for hops in (0, 1):
        services.settings = dataclasses.replace(services.settings, trusted_proxies=hops)
        r = (
            create_app(services)
            .test_client()
            .put(
                path,
                json={"operationType": "blockMetric", "metricMri": f"c:custom/p{hops}@none"},
                headers=tenant.headers(**{"X-Forwarded-For": "203.0.113.7"}),
            )
        )
        [recorded] = services.store.read_log(int(r.headers["X-Eventry-Position"]) - 1, 1)
        addresses.append(recorded.meta.ip_address)
    assert addresses == ["127.0.0.1", "203.0.113.7"]
