"""A PostgreSQL outage mid-traffic: requests fail with 503 (never 500), the service recovers by
itself, and every acknowledged write is in the log afterwards."""

from __future__ import annotations

import time
from urllib.parse import urlparse

from api.app import create_app
from events import streams
from infra.bootstrap import bootstrap, migrate
from infra.config import Settings
from tests.conftest import make_tenant
from tests.proxy import Proxy


def test_postgres_outage_is_a_503_and_nothing_acknowledged_is_lost(pg_settings: Settings) -> None:
    migrate(pg_settings)
    url = urlparse(pg_settings.database_url)
    proxy = Proxy(url.port or 5432)
    proxied = Settings(
        database_url=pg_settings.database_url.replace(f":{url.port}/", f":{proxy.port}/"),  # type: ignore[union-attr]
        redis_url=pg_settings.redis_url,
        log_json=False,
        read_wait_timeout=1,
    )
    svc = bootstrap(proxied, create_tables=False)
    svc.start_worker()
    tenant = make_tenant(svc)
    client = create_app(svc).test_client()
    path = f"/api/0/projects/{tenant.org_slug}/{tenant.project_slug}/metrics/visibility/"
    acknowledged: list[str] = []
    statuses: list[int] = []

    def write(i: int) -> None:
        tag = f"t{i}"
        r = client.put(
            path,
            json={"operationType": "blockTags", "metricMri": "c:custom/x@none", "tags": [tag]},
            headers=tenant.headers(),
        )
        statuses.append(r.status_code)
        assert r.status_code in (200, 503), r.get_data(as_text=True)
        if r.status_code == 200:
            acknowledged.append(tag)
        else:
            assert r.headers.get("Retry-After") == "1" and "detail" in r.get_json()

    try:
        for i in range(5):
            write(i)
        proxy.cut()
        write(5)  # the event store's own retries ride out short blips; a real outage is a 503
        assert statuses[5] == 503
        proxy.restore()
        deadline = time.monotonic() + 30
        i = 6
        while time.monotonic() < deadline:  # recovers by itself
            write(i)
            i += 1
            if statuses[-1] == 200 and statuses[-2:] == [200, 200]:
                break
        assert statuses[-1] == 200
        health = client.get("/healthz")
        assert health.status_code == 200
    finally:
        proxy.close()
        svc.close()

    direct = bootstrap(pg_settings, create_tables=False)
    try:
        recorded = direct.store.read_stream(streams.project(tenant.project_id))
        final = recorded[-1].event
        assert set(acknowledged) <= set(final.blocked_tags)  # type: ignore[attr-defined]
    finally:
        direct.close()


def test_a_retried_insert_that_already_landed_counts_once(pg_settings: Settings) -> None:
    """The driver retries an insert whose commit went through but whose answer was lost; the
    retry hits its own rows. The dispatcher must see its write there, not decide again."""
    from commands.metrics import BlockMetricTags
    from events import Meta
    from infra.eventstore import IntegrityError

    migrate(pg_settings)
    svc = bootstrap(pg_settings, create_tables=False)
    try:
        tenant = make_tenant(svc)
        real_append = svc.store.append

        def append_then_lose_the_answer(pending, meta, at):  # type: ignore[no-untyped-def]
            real_append(pending, meta, at)  # committed...
            raise IntegrityError("duplicate key")  # ...and the retry of the same insert conflicts

        svc.store.append = append_then_lose_the_answer  # type: ignore[method-assign]
        meta = Meta(actor_type="token", actor_id=1, actor_label="t", request_id="req-lost-answer")
        outcome = svc.dispatch(BlockMetricTags(tenant.project_id, "c:custom/x@none", ("a",)), meta)
        svc.store.append = real_append  # type: ignore[method-assign]
        assert outcome.result["blockedTags"] == ["a"]
        recorded = svc.store.read_stream(streams.project(tenant.project_id))
        assert [r.meta.request_id for r in recorded].count("req-lost-answer") == 1
    finally:
        svc.close()
