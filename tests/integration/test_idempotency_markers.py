"""Idempotency markers do not copy large responses, and a replay still returns the first one."""

from __future__ import annotations

from flask.testing import FlaskClient

from commands.metrics import BlockMetric
from infra.bootstrap import Services
from infra.dispatcher import Idempotency
from tests.conftest import OPERATOR, Tenant


def test_a_large_response_is_kept_by_reference_and_replayed_as_it_was(
    client: FlaskClient, services: Services, tenant: Tenant
) -> None:
    for i in range(300):  # the project's options (in the details) grow to ~30 kB
        services.dispatch(BlockMetric(tenant.project_id, f"d:custom/m_{i}@millisecond"), OPERATOR)
    path = f"/api/0/projects/{tenant.org_slug}/{tenant.project_slug}/"
    headers = tenant.headers(**{"Idempotency-Key": "options-1"})
    first = client.put(path, json={"options": {"sentry:origins": "a.example"}}, headers=headers)
    assert first.status_code == 200, first.get_json()
    assert len(first.get_data()) > 20_000

    marker = services.store.recorder.select_events(
        Idempotency(f"token:{tenant.token_id}", "options-1", "").stream, limit=1
    )[0]
    assert marker.topic == "requests.RequestCompleted.v2"
    assert len(marker.state) < 2_000  # before: the whole response, ~30 kB

    # The project changes after the first request; its replay is still the first outcome.
    services.dispatch(BlockMetric(tenant.project_id, "d:custom/later@millisecond"), OPERATOR)
    head = services.store.head()
    again = client.put(path, json={"options": {"sentry:origins": "a.example"}}, headers=headers)
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert "d:custom/later@millisecond" not in again.get_json()["options"]["sentry:blocked_metrics"]
    assert services.store.head() == head  # a replay appends nothing


def test_a_small_response_is_kept_inline(client: FlaskClient, services: Services, tenant: Tenant) -> None:
    path = f"/api/0/projects/{tenant.org_slug}/{tenant.project_slug}/metrics/visibility/"
    headers = tenant.headers(**{"Idempotency-Key": "small-1"})
    body = {"operationType": "blockMetric", "metricMri": "c:custom/x@none"}
    first = client.put(path, json=body, headers=headers)
    again = client.put(path, json=body, headers=headers)
    assert again.headers["Idempotent-Replayed"] == "true" and again.get_json() == first.get_json()
    [recorded] = services.store.read_stream(Idempotency(f"token:{tenant.token_id}", "small-1", "").stream)
    assert recorded.event.body == first.get_json()  # type: ignore[attr-defined]
