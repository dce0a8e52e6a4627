"""Snowflake ids on a real Redis (sentry-behaviour 7): the layout, the per-second sequence with
its look-back, exhaustion, uniqueness across processes, and the bounded save retry (409).

Redis is shared with other test runs, so every test runs its generator on a fake clock at a
random point far from the present: the per-second keys it touches are its own."""

from __future__ import annotations

import multiprocessing
import random
import time
from collections.abc import Callable
from typing import Any

import pytest
import redis as redis_lib
from flask.testing import FlaskClient

from infra.bootstrap import Services
from infra.config import Settings
from infra.snowflake import (
    MAX_RETRY_DETAIL,
    SnowflakeError,
    SnowflakeGenerator,
    compose,
    counter_key,
    msb_0_ordering,
    validate_bits,
)
from tests.conftest import Tenant

EPOCH = 946598400.0  # 1999-12-31, as Sentry's tests freeze it
VERSION = 16 << 48  # msb_0_ordering(1, 5) = 0b10000, shifted past time, region and sequence


def fresh_second() -> int:
    """A seconds-since-epoch value no other test run uses (32 bits hold up to 4294967295)."""
    return random.randint(3_000_000_000, 4_000_000_000)


def frozen(redis: Any, diff: int, region_id: int = 0) -> SnowflakeGenerator:
    return SnowflakeGenerator(redis, region_id=region_id, clock=lambda: EPOCH + diff + 0.5, epoch=EPOCH)


@pytest.fixture
def redis(redis_url: str) -> Any:
    client = redis_lib.Redis.from_url(redis_url)
    yield client
    client.close()


def test_the_first_id_of_a_second(redis: Any) -> None:
    diff = fresh_second()
    assert msb_0_ordering(1, 5) == 16
    assert frozen(redis, diff)("project_snowflake_key") == VERSION + (diff << 16)


def test_sixteen_ids_a_second_then_the_second_before(redis: Any) -> None:
    diff = fresh_second()
    generate = frozen(redis, diff)
    ids = [generate("project_snowflake_key") for _ in range(16)]
    assert ids == [VERSION + (diff << 16) + seq for seq in range(16)]
    assert generate("organization_snowflake_key") == VERSION + ((diff - 1) << 16)


def test_no_available_id_when_the_look_back_is_used_up(redis: Any) -> None:
    diff = fresh_second()
    for ts in range(diff - 299, diff + 1):
        redis.set(counter_key(0, ts), 16, ex=300)
    with pytest.raises(SnowflakeError, match=r"^No available ID$"):
        frozen(redis, diff)("project_snowflake_key")


def test_each_region_has_its_own_sequence(redis: Any) -> None:
    """Deployments sharing one Redis under different regions never use up each other's ids, and
    their ids still differ (the region is part of the id)."""
    diff = fresh_second()
    for ts in range(diff - 299, diff + 1):
        redis.set(counter_key(7, ts), 16, ex=300)
    with pytest.raises(SnowflakeError, match=r"^No available ID$"):
        frozen(redis, diff, region_id=7)("project_snowflake_key")
    first = frozen(redis, diff, region_id=8)("project_snowflake_key")
    assert first == VERSION + (diff << 16) + (8 << 4)


def test_the_region_comes_from_the_environment() -> None:
    assert Settings.from_env({"EVENTRY_SNOWFLAKE_REGION": "42"}).snowflake_region == 42
    assert Settings.from_env({}).snowflake_region == 0


def test_region_id_and_bit_limits(redis: Any) -> None:
    generated = frozen(redis, fresh_second(), region_id=1234)("project_snowflake_key")
    assert (generated >> 4) & 0xFFF == 1234 and generated < 2**53
    with pytest.raises(SnowflakeError, match=r"^REGION_ID exceed max bit value of 12$"):
        validate_bits("REGION_ID", 12, 4096)
    with pytest.raises(SnowflakeError, match=r"^The length should be a positive number$"):
        validate_bits("REGION_ID", 0, 1)
    assert compose(1, 0, 0) == VERSION + (1 << 16)


WORKERS, PER_WORKER, SPEED = 4, 2500, 2000.0


def draw(redis_url: str, base: int, started: float, count: int, out: Any, go: Any) -> None:
    """A process drawing ids on a shared fake clock that runs SPEED times faster than time."""
    client = redis_lib.Redis.from_url(redis_url)
    clock: Callable[[], float] = lambda: EPOCH + base + (time.time() - started) * SPEED
    generate = SnowflakeGenerator(client, clock=clock, epoch=EPOCH)
    go.wait()
    out.put([generate("project_snowflake_key") for _ in range(count)])
    client.close()


def test_ten_thousand_ids_from_four_processes_are_unique(redis_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    base, started = fresh_second(), time.time() + 3  # the clock starts once every process is up
    out, go = ctx.Queue(), ctx.Event()
    procs = [
        ctx.Process(target=draw, args=(redis_url, base, started, PER_WORKER, out, go)) for _ in range(WORKERS)
    ]
    for p in procs:
        p.start()
    time.sleep(max(0.0, started - time.time()))
    go.set()
    ids = [i for _ in procs for i in out.get(timeout=120)]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    assert len(ids) == WORKERS * PER_WORKER == len(set(ids))
    for generated in ids:
        assert generated >> 48 == 16 and (generated >> 4) & 0xFFF == 0 and generated < 2**53
        assert base - 300 < (generated >> 16) & 0xFFFFFFFF < base + 600_000


def test_http_creation_ids_are_snowflakes(client: FlaskClient, tenant: Tenant) -> None:
    assert tenant.org_id >> 48 == 16 and tenant.project_id >> 48 == 16
    key = client.post(
        f"/api/0/projects/{tenant.org_slug}/{tenant.project_slug}/keys/", json={}, headers=tenant.headers()
    )
    assert key.status_code == 201


def test_no_available_id_over_http_is_a_503_and_changes_nothing(
    client: FlaskClient, services: Services, tenant: Tenant
) -> None:
    diff = fresh_second()
    for ts in range(diff - 299, diff + 1):
        services.redis.set(counter_key(0, ts), 16, ex=300)
    services.snowflake = frozen(services.redis, diff)
    head = services.store.head()
    response = client.post(
        f"/api/0/organizations/{tenant.org_slug}/projects/", json={"name": "x"}, headers=tenant.headers()
    )
    assert response.status_code == 503 and response.get_json() == {"detail": "No available ID"}
    assert services.store.head() == head


def test_colliding_ids_are_retried_five_times_then_409(
    client: FlaskClient, services: Services, tenant: Tenant
) -> None:
    """Redis lost its counters (restart): the same second hands out ids already used. Each try
    draws a project id and a key id; five projects use the first ten sequence values."""
    diff = fresh_second()
    services.snowflake = frozen(services.redis, diff)
    url = f"/api/0/organizations/{tenant.org_slug}/projects/"
    for n in range(5):
        assert client.post(url, json={"name": f"p{n}"}, headers=tenant.headers()).status_code == 201
    services.redis.delete(counter_key(0, diff))  # the counter is gone; ids restart at sequence 0
    head = services.store.head()
    response = client.post(url, json={"name": "again"}, headers=tenant.headers())
    assert response.status_code == 409 and response.get_json() == {"detail": MAX_RETRY_DETAIL}
    assert services.store.head() == head
    # a retry after "a second" succeeds
    services.snowflake = frozen(services.redis, diff + 1)
    assert client.post(url, json={"name": "again"}, headers=tenant.headers()).status_code == 201
