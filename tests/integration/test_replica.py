"""The query side on a PostgreSQL streaming replica: a private primary and a replica made with
``pg_basebackup`` (tests/replication.py), started once for the module.

Reads of views go to the replica, writes and the worker to the primary; a caller still reads
its own writes and ``X-Eventry-Min-Position`` still holds; while the replica stops replaying
(paused, then killed) reads fall back to the primary, and come back to it when it recovers.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from flask.testing import FlaskClient
from prometheus_client import REGISTRY

from api.app import create_app
from infra.bootstrap import Services, bootstrap
from infra.config import Settings
from tests.conftest import Tenant, make_tenant, own_region, serving
from tests.replication import Replicated, primary_and_replica

MAX_LAG = 1.0


@pytest.fixture(scope="module")
def servers() -> Iterator[Replicated]:
    with primary_and_replica() as replicated:
        yield replicated


@pytest.fixture(scope="module")
def svc(servers: Replicated, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    settings = Settings(
        database_url=servers.primary.url,
        database_replica_url=servers.replica.url,
        replica_max_lag=MAX_LAG,
        redis_url=redis_url,
        data_dir=tmp_path_factory.mktemp("replica") / "var",
        log_json=False,
        snowflake_region=own_region(),
    )
    with serving(settings) as services:
        yield services


@pytest.fixture(scope="module")
def client(svc: Services) -> FlaskClient:
    return create_app(svc).test_client()


@pytest.fixture(scope="module")
def tenant(svc: Services) -> Tenant:
    return make_tenant(svc)


def rename(client: FlaskClient, t: Tenant, name: str) -> int:
    r = client.put(
        f"/api/0/projects/{t.org_slug}/{t.project_slug}/", json={"name": name}, headers=t.headers()
    )
    assert r.status_code == 200, r.get_json()
    return int(r.headers["X-Eventry-Position"])


def shown(client: FlaskClient, t: Tenant, **headers: str) -> Any:
    r = client.get(f"/api/0/projects/{t.org_slug}/{t.project_slug}/", headers=t.headers(**headers))
    assert r.status_code == 200, r.get_json()
    return r.get_json()["name"]


def replica_lag() -> float | None:
    return REGISTRY.get_sample_value("eventry_replica_lag_seconds")


def wait_for(predicate: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_reads_through_the_replica_show_the_callers_own_writes(
    client: FlaskClient, svc: Services, tenant: Tenant
) -> None:
    assert svc.engine.replica is not None
    wait_for(svc.engine.replica.usable)
    for i in range(20):
        position = rename(client, tenant, f"Replicated {i}")
        assert shown(client, tenant) == f"Replicated {i}"  # read-your-writes, no header
        r = client.get(f"/api/0/projects/{tenant.org_slug}/{tenant.project_slug}/", headers=tenant.headers())
        assert int(r.headers["X-Eventry-Position"]) >= position
    assert svc.engine._local.served is svc.engine.replica  # the last read was the replica's
    assert replica_lag() is not None and replica_lag() <= MAX_LAG  # type: ignore[operator]


def test_a_paused_replica_serves_stale_reads_only_where_no_position_was_promised(
    client: FlaskClient, svc: Services, tenant: Tenant, servers: Replicated
) -> None:
    replica = svc.engine.replica
    assert replica is not None
    other = make_reader(svc, tenant)
    before = rename(client, tenant, "Before the pause")
    assert shown(client, tenant) == "Before the pause"
    wait_for(lambda: min(replica.positions().values()) >= svc.store.head())
    with psycopg.connect(servers.replica.url, autocommit=True) as conn:
        conn.execute("SELECT pg_wal_replay_pause()")
        try:
            position = rename(client, tenant, "While paused")
            # A reader that asks for no position is served by the replica while it is within
            # its allowed lag: the older name (what shows that the replica serves reads).
            if replica.usable():
                assert shown(client, other) == "Before the pause"
            # The writer waits on the replica, which will not get there: after MAX_LAG the
            # primary shows the write and serves the read.
            assert shown(client, tenant) == "While paused"
            # A reader that asks for the position gets it too.
            assert shown(client, other, **{"X-Eventry-Min-Position": str(position)}) == "While paused"
            wait_for(lambda: not replica.usable())  # behind more than MAX_LAG: the primary serves all
            assert replica_lag() > MAX_LAG  # type: ignore[operator]
            assert shown(client, other) == "While paused"
        finally:
            conn.execute("SELECT pg_wal_replay_resume()")
    wait_for(replica.usable)
    assert replica.positions(["directory"])["directory"] >= before


def test_a_dead_replica_sends_every_read_to_the_primary_until_it_is_back(
    client: FlaskClient, svc: Services, tenant: Tenant, servers: Replicated
) -> None:
    replica = svc.engine.replica
    assert replica is not None
    servers.replica.kill()
    try:
        wait_for(lambda: replica.lag is None)
        assert replica_lag() == float("inf")
        for i in range(3):
            rename(client, tenant, f"Primary only {i}")
            assert shown(client, tenant) == f"Primary only {i}"
    finally:
        servers.start_replica()
    wait_for(replica.usable)
    rename(client, tenant, "Back on the replica")
    assert shown(client, tenant) == "Back on the replica"
    assert svc.engine._local.served is replica


def make_reader(svc: Services, t: Tenant) -> Tenant:
    from tests.conftest import make_token

    token, token_id = make_token(svc, t.org_id, ("project:read",), label="reader")
    svc.engine.catch_up_all(["directory"])
    return Tenant(t.org_id, t.org_slug, t.project_id, t.project_slug, token, token_id)


def test_min_position_is_honoured_by_cached_directory_lookups(
    client: FlaskClient, svc: Services, tenant: Tenant
) -> None:
    """A lookup this process cached must not answer a reader that asks for a later position
    written by another process (the bench found this: the project name came from the cache)."""
    reader = make_reader(svc, tenant)
    seen = rename(client, tenant, "Seen by the cache")
    assert shown(client, reader, **{"X-Eventry-Min-Position": str(seen)}) == "Seen by the cache"
    other_process = bootstrap(svc.settings, create_tables=False)  # its own caches
    try:
        position = rename(create_app(other_process).test_client(), tenant, "Written elsewhere")
    finally:
        other_process.close()
    assert shown(client, reader, **{"X-Eventry-Min-Position": str(position)}) == "Written elsewhere"
