"""eventry on a Redis Cluster of three masters on loopback (tests/replication.py), started once for
the module: relay configs (a 100-key fetch split per slot), snowflake ids, read-your-writes marks,
relay replay markers, and two billing consumers in one group with one SIGKILLed."""

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
from flask.testing import FlaskClient
from redis.cluster import RedisCluster

from api.app import create_app
from commands.billing import TRANSACTIONS_USAGE
from infra.billing import BillingStreams, check_cluster_slots, done_key
from infra.bootstrap import Services
from infra.config import Settings
from infra.redis import hash_tag
from infra.relay_cache import key as cache_key
from projections import relay_configs
from tests.conftest import Tenant, make_tenant, postgres_settings, serving
from tests.integration.test_billing_consumer import generic_metric, outcomes
from tests.integration.test_relay_configs import add_key
from tests.integration.test_serve import ROOT
from tests.integration.uploading import missing, sha1, upload
from tests.relay_client import RelayClient
from tests.replication import Cluster, redis_cluster


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with redis_cluster() as started:
        yield started


@pytest.fixture(scope="module")
def svc(
    cluster: Cluster, postgres_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Services]:
    settings = postgres_settings(
        postgres_database,
        cluster.url,
        redis_cluster=True,
        data_dir=tmp_path_factory.mktemp("cluster") / "var",
    )
    with serving(settings) as services:
        yield services


@pytest.fixture(scope="module")
def client(svc: Services) -> FlaskClient:
    return create_app(svc).test_client()


def test_relay_configs_for_100_keys_are_cached_across_the_cluster(client: FlaskClient, svc: Services) -> None:
    assert isinstance(svc.redis, RedisCluster)
    relay = RelayClient(client)
    object.__setattr__(svc.settings, "internal_relays", frozenset({str(relay.public)}))
    assert relay.register().status_code == 200  # a replay marker and a registration, in the cluster
    tenant = make_tenant(svc)  # snowflake ids drawn from the cluster
    keys = [add_key(client, tenant) for _ in range(100)]  # writes: read-your-writes marks
    assert svc.engine.wait(svc.store.head(), ["relay_configs"], timeout=60)
    slots = {svc.redis.keyslot(cache_key(k)) for k in keys}
    nodes = {svc.redis.get_node_from_key(cache_key(k)).name for k in keys}
    assert len(slots) > 50 and len(nodes) == 3  # the 100 keys are spread over every master

    served = relay.project_configs({"publicKeys": keys, "fullConfig": True}, 3)
    assert served.status_code == 200, served.get_json()
    configs = served.get_json()["configs"]
    with svc.engine.read("relay_configs") as view:
        stored = relay_configs.documents(view, keys)
    assert set(configs) == set(keys)
    for k in keys:
        doc = dict(configs[k])
        doc.pop("lastFetch", None)
        assert doc == json.loads(stored[k]), k
    assert all(svc.redis.exists(cache_key(k)) for k in keys)  # written through by the worker

    svc.redis.delete(*[cache_key(k) for k in keys[:10]])  # a partial miss: refilled from the view
    again = relay.project_configs({"publicKeys": keys, "fullConfig": True}, 3)
    assert set(again.get_json()["configs"]) == set(keys)
    assert all(svc.redis.exists(cache_key(k)) for k in keys[:10])


def test_a_chunk_upload_marks_the_token_and_the_organization(client: FlaskClient, svc: Services) -> None:
    """The upload's two read-your-writes marks are in different slots: one command each."""
    tenant = make_tenant(svc)
    chunk = os.urandom(1000)
    assert upload(client, tenant, [chunk]).status_code == 200
    assert missing(client, tenant, [sha1(chunk)]) == []


def test_billing_streams_must_share_a_hash_tag(svc: Services) -> None:
    with pytest.raises(ValueError, match="hash tag"):
        check_cluster_slots(svc.redis, BillingStreams())  # Sentry's names: three slots
    tagged = BillingStreams("{billing}metrics", "billing", "{billing}outcomes", "{billing}dlq")
    check_cluster_slots(svc.redis, tagged)
    assert hash_tag(done_key(tagged, "1-0")) == "billing"


TOTAL = 1500


def test_two_consumers_one_killed_nothing_lost_or_duplicated(svc: Services, cluster: Cluster) -> None:
    tag = uuid.uuid4().hex[:8]
    names = BillingStreams(f"{{b{tag}}}metrics", "billing", f"{{b{tag}}}outcomes", f"{{b{tag}}}dlq")
    r = svc.redis
    tenant: Tenant = make_tenant(svc)
    ids = []
    for n in range(1, TOTAL + 1):
        value = generic_metric(
            tenant.org_id, tenant.project_id, TRANSACTIONS_USAGE, "c:transactions/usage@none", "c", n
        )
        ids.append(r.xadd(names.input, {"value": value}).decode())
    victim = consumer(svc.settings, names, "victim")
    survivor = consumer(svc.settings, names, "survivor")
    try:
        wait_until(lambda: len(outcomes(r, names)) >= 200)
        victim.send_signal(signal.SIGKILL)
        victim.wait(15)
        assert len(outcomes(r, names)) < TOTAL  # killed half-way, with messages pending
        wait_until(lambda: len(outcomes(r, names)) >= TOTAL and pending(r, names) == 0, timeout=90)
        time.sleep(0.5)  # anything doubled would show up by now
    finally:
        victim.kill()
        survivor.terminate()
        survivor.wait(15)
    got = outcomes(r, names)
    assert sorted(o["source"] for o in got) == sorted(ids)  # each message once
    assert sum(o["quantity"] for o in got) == sum(range(1, TOTAL + 1))


def consumer(settings: Settings, names: BillingStreams, name: str) -> subprocess.Popen[bytes]:
    """``eventry consume billing-metrics`` on the cluster, as an operator starts it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVENTRY_", "DATABASE_", "REDIS_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        DATABASE_URL=settings.database_url or "",
        REDIS_URL=settings.redis_url or "",
        EVENTRY_REDIS_CLUSTER="yes",
        EVENTRY_LOG_LEVEL="WARNING",
    )
    args = ["--input-stream", names.input, "--group", names.group, "--outcomes-stream", names.outcomes]
    args += ["--dead-letter-stream", names.dead_letter, "--consumer", name, "--claim-idle-ms", "500"]
    command = [sys.executable, "-m", "api.cli", "consume", "billing-metrics", *args]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def pending(r: Any, names: BillingStreams) -> int:
    return int(r.xpending(names.input, names.group)["pending"])


def wait_until(predicate: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
