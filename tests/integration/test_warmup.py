"""A server process warms its connections before its first request (infra/warmup.py): every
pooled connection of the log reads a stream and its snapshot, each view's tables are planned
once, nothing is written, and a failure leaves a process that serves (cold) instead of none."""

from __future__ import annotations

import logging

import psycopg
import pytest

from infra.bootstrap import Services, bootstrap, migrate
from infra.config import Settings
from infra.warmup import warm
from tests.conftest import make_tenant, postgres_settings


def test_a_warm_up_writes_nothing_and_the_process_serves_after_it(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    tenant = make_tenant(services)
    head = services.store.head()
    with caplog.at_level(logging.WARNING, logger="eventry.warmup"):
        warmed = warm(services)
    assert not caplog.records  # it did not fail (on SQLite there is nothing per connection)
    assert warmed == (services.settings.is_postgres and 4)  # the log's pool size (0: SQLite)
    assert services.store.head() == head
    assert services.engine.catch_up_all() == 0  # nothing new to fold
    with services.engine.read("directory") as view:
        assert (tenant.org_id,) in view.execute("SELECT id FROM {organizations}")


def test_every_pooled_connection_of_the_log_is_warmed(pg_settings: Settings, postgres_database: str) -> None:
    migrate(pg_settings)
    svc = bootstrap(pg_settings, create_tables=False)
    try:
        snapshots = getattr(svc.dispatcher.snapshots.recorder, "events_table_name", None)
        assert snapshots
        assert warm(svc) == 4
        with psycopg.connect(postgres_database, autocommit=True) as conn:
            backends = conn.execute(
                "SELECT count(DISTINCT pid) FROM pg_stat_activity WHERE datname = current_database() "
                "AND query LIKE %s",
                (f'%"{snapshots}" WHERE originator_id = $1%',),
            ).fetchone()
        # The last statement each of the four ran: four server processes, not one four times.
        assert backends is not None and backends[0] == 4
    finally:
        svc.close()


def test_a_failed_warm_up_is_logged_and_the_process_serves_cold(
    postgres_database: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = postgres_settings(postgres_database, "redis://127.0.0.1:1/0")  # nothing listens
    migrate(settings)
    svc = bootstrap(settings, create_tables=False)
    try:
        with caplog.at_level(logging.WARNING, logger="eventry.warmup"):
            assert warm(svc) == 0
        [record] = [r for r in caplog.records if r.name == "eventry.warmup"]
        assert record.getMessage() == "warm-up failed; serving cold"
        assert "ConnectionError" in record.__dict__["fields"]["error"]
        assert svc.store.head() == 0  # the database still answers
    finally:
        svc.close()
