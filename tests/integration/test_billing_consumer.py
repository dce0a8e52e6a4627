"""The billing metrics consumer on real Redis: Sentry's nine-message table (section 3.4), dead
letters, and exactly-once effects across SIGKILLs between its steps."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis as redis_lib

from commands.billing import HAS_PROFILE_TAG, PROFILE, TRANSACTION, TRANSACTIONS_USAGE
from commands.organizations import CreateProject
from commands.slugs import SUFFIX_SCHEDULE
from events import streams as event_streams
from events.billing import FirstCustomMetricReceived
from infra.billing import BillingConsumer, BillingStreams, flag_key
from infra.bootstrap import Services, bootstrap, migrate
from infra.config import Settings
from tests.conftest import OPERATOR, make_tenant
from tests.integration.test_serve import ROOT

DURATION = (1 << 63) + 101  # d:transactions/duration@millisecond
PROFILE_TAGS = {str(HAS_PROFILE_TAG): "true"}


@pytest.fixture
def names(redis_url: str) -> Iterator[BillingStreams]:
    """Stream names of this test only; removed afterwards (the Redis is shared)."""
    tag = uuid.uuid4().hex[:12]
    s = BillingStreams(f"t-{tag}-metrics", "billing", f"t-{tag}-outcomes", f"t-{tag}-dlq")
    yield s
    client = redis_lib.Redis.from_url(redis_url)
    client.delete(s.input, s.outcomes, s.dead_letter)
    for key in client.scan_iter(f"billing-done:{{{s.input}}}:*"):
        client.delete(key)
    client.close()


def generic_metric(
    org_id: int,
    project_id: int,
    metric_id: int,
    mri: str,
    kind: str,
    value: Any,
    tags: dict[str, str] | None = None,
) -> bytes:
    return json.dumps(
        {
            "version": 2,
            "mapping_meta": {"c": {str(metric_id): mri}},
            "metric_id": metric_id,
            "org_id": org_id,
            "project_id": project_id,
            "retention_days": 90,
            "tags": tags or {},
            "timestamp": 1677512412,
            "type": kind,
            "use_case_id": "custom",
            "value": value,
        }
    ).encode()


def produce(r: Any, names: BillingStreams, *messages: bytes) -> list[str]:
    return [r.xadd(names.input, {"value": m}).decode() for m in messages]


def outcomes(r: Any, names: BillingStreams) -> list[dict[str, Any]]:
    return [{**json.loads(f[b"value"]), "source": f[b"source"].decode()} for _, f in r.xrange(names.outcomes)]


def drain(consumer: BillingConsumer) -> None:
    consumer.reader.ensure_group()
    while entries := consumer.reader.read():
        for entry_id, fields in entries:
            consumer.process(entry_id, fields)


def flagged(services: Services, project_id: int) -> list[Any]:
    recorded = services.store.read_stream(event_streams.project(project_id))
    return [r.event for r in recorded if isinstance(r.event, FirstCustomMetricReceived)]


def second_project(services: Services, org_id: int, name: str) -> int:
    suffixes = tuple(uuid.uuid4().hex[:n] for n in SUFFIX_SCHEDULE)
    return services.dispatch_with_new_id(
        lambda i: CreateProject(org_id, i, name, None, suffixes, uuid.uuid4().hex[:12]), "project", OPERATOR
    ).result["id"]


def test_the_nine_message_table(services: Services, names: BillingStreams) -> None:
    r = services.redis
    tenant = make_tenant(services)
    org, p1 = tenant.org_id, tenant.project_id
    p2 = second_project(services, org, "Second")
    missing = 2  # a project id that does not exist
    table = [
        generic_metric(org, p1, 1001, "c:custom/user_click@none", "c", 123.4),
        generic_metric(org, p1, 1002, "d:custom/page_load@ms", "d", [1.0, 2.0]),
        generic_metric(org, p1, TRANSACTIONS_USAGE, "c:transactions/usage@none", "c", 0.0),
        generic_metric(org, p1, DURATION, "d:transactions/duration@millisecond", "d", []),
        generic_metric(org, p2, TRANSACTIONS_USAGE, "c:transactions/usage@none", "c", 3.0),
        generic_metric(org, p2, DURATION, "d:transactions/duration@millisecond", "d", [1.0, 2.0, 3.0]),
        generic_metric(org, p2, 1002, "d:custom/page_load@ms", "c", 123.4),
        generic_metric(org, missing, TRANSACTIONS_USAGE, "c:transactions/usage@none", "c", 1.0, PROFILE_TAGS),
        generic_metric(
            org, missing, DURATION, "d:transactions/duration@millisecond", "d", [4.0], PROFILE_TAGS
        ),
    ]
    consumer = BillingConsumer(r, services.dispatch, names, consumer="c1", block_ms=20)
    ids = produce(r, names, *table[:6])
    drain(consumer)
    assert r.exists(flag_key(org, p1)) and not r.exists(flag_key(org, p2))
    assert flagged(services, p1) == [FirstCustomMetricReceived(p1, org, "c:custom/user_click@none")]
    assert flagged(services, p2) == []  # not before message 6
    ids += produce(r, names, *table[6:])
    drain(consumer)
    assert r.ttl(flag_key(org, p2)) > 604800 - 60
    assert flagged(services, p2) == [FirstCustomMetricReceived(p2, org, "d:custom/page_load@ms")]
    assert not r.exists(flag_key(org, missing))
    got = outcomes(r, names)
    for o in got:
        assert o.pop("timestamp").endswith("Z")
    base = {"org_id": org, "key_id": None, "outcome": 0, "reason": None, "event_id": None}
    assert got == [
        {**base, "project_id": p2, "category": TRANSACTION, "quantity": 3, "source": ids[4]},
        {**base, "project_id": missing, "category": TRANSACTION, "quantity": 1, "source": ids[7]},
        {**base, "project_id": missing, "category": PROFILE, "quantity": 1, "source": ids[7]},
    ]
    assert consumer.reader.pending() == 0 and r.xlen(names.dead_letter) == 0


def test_malformed_messages_go_to_the_dead_letter_stream(services: Services, names: BillingStreams) -> None:
    r = services.redis
    tenant = make_tenant(services)
    good = generic_metric(
        tenant.org_id, tenant.project_id, TRANSACTIONS_USAGE, "c:transactions/usage@none", "c", 2
    )
    bad_ids = [
        r.xadd(names.input, {"value": b"{not json"}).decode(),
        r.xadd(names.input, {"value": b'{"org_id": 1}'}).decode(),
        r.xadd(names.input, {"other": b"x"}).decode(),
    ]
    produce(r, names, good)
    consumer = BillingConsumer(r, services.dispatch, names, consumer="c1", block_ms=20)
    drain(consumer)
    dead = [{k.decode(): v.decode() for k, v in f.items()} for _, f in r.xrange(names.dead_letter)]
    assert [d["id"] for d in dead] == bad_ids
    assert dead[0]["reason"].startswith("invalid JSON") and dead[0]["value"] == "{not json"
    assert dead[1]["reason"].startswith("schema violation: data must contain")
    assert dead[2]["reason"] == "the entry has no 'value' field"
    assert [o["quantity"] for o in outcomes(r, names)] == [2]  # the consumer went on
    assert consumer.reader.pending() == 0


def consumer_process(
    settings: Settings, names: BillingStreams, name: str, *extra: str
) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVENTRY_", "DATABASE_", "REDIS_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        DATABASE_URL=settings.database_url or "",
        REDIS_URL=settings.redis_url or "",
        EVENTRY_LOG_LEVEL="WARNING",
    )
    args = ["--input-stream", names.input, "--group", names.group, "--outcomes-stream", names.outcomes]
    args += ["--dead-letter-stream", names.dead_letter, "--consumer", name, "--claim-idle-ms", "300"]
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli", "consume", "billing-metrics", *args, *extra],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_until(predicate: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def pg_services(pg_settings: Settings) -> Iterator[Services]:
    migrate(pg_settings)
    svc = bootstrap(pg_settings, create_tables=False)
    svc.start_worker()
    yield svc
    svc.close()


@pytest.mark.slow
@pytest.mark.parametrize("step", ["decoded", "flagged", "committed"])
def test_killed_between_steps_nothing_is_lost_or_doubled(
    pg_services: Services, names: BillingStreams, step: str
) -> None:
    svc, r = pg_services, pg_services.redis
    tenant = make_tenant(svc)
    org, project = tenant.org_id, tenant.project_id
    usage = generic_metric(
        org, project, TRANSACTIONS_USAGE, "c:transactions/usage@none", "c", 5.0, PROFILE_TAGS
    )
    custom = generic_metric(org, project, 1001, "c:custom/user_click@none", "c", 1.0)
    ids = produce(r, names, usage, custom)

    first = consumer_process(svc.settings, names, "doomed", "--crash-at", step)
    assert first.wait(30) == -signal.SIGKILL  # died at the step, with its message unacknowledged
    expected_before = 2 if step == "committed" else 0
    assert len(outcomes(r, names)) == expected_before

    second = consumer_process(svc.settings, names, "survivor")  # claims the dead one's message
    try:
        wait_until(lambda: len(outcomes(r, names)) >= 2 and flagged(svc, project) and _pending(r, names) == 0)
        time.sleep(0.5)  # anything doubled would show up by now
    finally:
        second.terminate()
        assert second.wait(15) == 0
    got = outcomes(r, names)
    assert sorted((o["category"], o["quantity"], o["source"]) for o in got) == [
        (TRANSACTION, 5, ids[0]),
        (PROFILE, 5, ids[0]),
    ]
    assert flagged(svc, project) == [FirstCustomMetricReceived(project, org, "c:custom/user_click@none")]
    assert r.xlen(names.dead_letter) == 0


TOTAL = 3000


@pytest.mark.slow
def test_killed_at_any_moment_nothing_is_lost_or_doubled(
    pg_services: Services, names: BillingStreams
) -> None:
    r = pg_services.redis
    tenant = make_tenant(pg_services)
    messages = [
        generic_metric(
            tenant.org_id, tenant.project_id, TRANSACTIONS_USAGE, "c:transactions/usage@none", "c", n
        )
        for n in range(1, TOTAL + 1)
    ]
    ids = produce(r, names, *messages)
    victim = consumer_process(pg_services.settings, names, "victim")
    wait_until(lambda: len(outcomes(r, names)) >= 50)
    victim.send_signal(signal.SIGKILL)
    victim.wait(15)
    assert len(outcomes(r, names)) < TOTAL  # killed half-way
    survivor = consumer_process(pg_services.settings, names, "survivor")
    try:
        wait_until(lambda: len(outcomes(r, names)) >= TOTAL and _pending(r, names) == 0, timeout=60)
        time.sleep(0.5)
    finally:
        survivor.terminate()
        survivor.wait(15)
    got = outcomes(r, names)
    assert sorted(o["source"] for o in got) == sorted(ids)  # each message once
    assert sum(o["quantity"] for o in got) == sum(range(1, TOTAL + 1))


def _pending(r: Any, names: BillingStreams) -> int:
    return int(r.xpending(names.input, names.group)["pending"])
