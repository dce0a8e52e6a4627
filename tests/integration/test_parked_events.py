"""One bad event never stops a view: it is parked with its stream's later events, everything
else flows, and once it folds it and the waiting ones are applied in order.

The bad event is a metric named ``poison`` that the test-only projection ``poison_fold``
(tests/poison.py) raises on until it is "fixed"; every real projection folds it normally.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from eventsourcing.persistence import StoredEvent
from flask.testing import FlaskClient
from prometheus_client import REGISTRY

from api.app import create_app
from commands.metrics import BlockMetric
from events import streams
from infra.bootstrap import Services, bootstrap, migrate
from infra.config import Settings
from infra.engine import Engine
from infra.worker import Worker, wait_until
from projections import PROJECTIONS
from tests import poison
from tests.conftest import make_tenant

ROOT = Path(__file__).resolve().parents[2]
FOLD = poison.Fold.name


@pytest.fixture
def svc(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Services]:
    """Services whose engine has ``poison_fold`` beside every real projection; no worker
    thread (tests catch up themselves, or start one)."""
    monkeypatch.setattr(poison.Fold, "fixed", False)
    migrate(settings)
    services = bootstrap(settings, create_tables=False)
    performed: list[str] = []
    effects = {**services.engine.effects, FOLD: performed.extend}
    services.engine = Engine(
        services.db,
        services.store,
        (*PROJECTIONS, poison.Fold),
        batch_size=settings.batch_size,
        effects=effects,
        repeat_after_commit=services.engine.repeat_after_commit,
    )
    services.engine.migrate()
    services.performed = performed  # type: ignore[attr-defined]
    yield services
    services.close()


def block(svc: Services, project_id: int, name: str) -> int:
    return svc.dispatch(BlockMetric(project_id, f"c:custom/{name}@none")).position


def seen(svc: Services) -> list[str]:
    with svc.engine.read(FOLD) as view:
        return [m.split("/")[1].split("@")[0] for m in poison.seen(view)]


def performed(svc: Services) -> list[str]:
    return [m.split("/")[1].split("@")[0] for m in svc.performed]  # type: ignore[attr-defined]


def test_a_poison_event_parks_its_stream_while_every_other_stream_flows(svc: Services) -> None:
    a, b = make_tenant(svc), make_tenant(svc)
    block(svc, a.project_id, "a1")
    bad = block(svc, a.project_id, "poison")
    block(svc, b.project_id, "b1")
    a2 = block(svc, a.project_id, "a2")
    svc.engine.catch_up_all()

    assert seen(svc) == ["a1", "b1"]
    assert performed(svc) == ["a1", "b1"], "a rolled-back event's effects must not be performed"
    parked = svc.engine.parked()
    assert [(p.projection, p.position, p.status, p.attempts) for p in parked] == [
        (FOLD, bad, "failed", 1),
        (FOLD, a2, "waiting", 0),
    ]
    assert {p.stream for p in parked} == {str(streams.project(a.project_id))}
    assert parked[0].topic == "metrics.MetricBlocked.v2"
    assert parked[0].error == "ValueError: cannot fold c:custom/poison@none"
    assert parked[0].first_failed and parked[0].last_failed and parked[0].generation == 1
    assert all(s.lag == 0 for s in svc.engine.status()), "every view, this one too, reached the head"

    # Later events: the other tenant's flow, this stream's wait behind the parked one.
    block(svc, b.project_id, "b2")
    a3 = block(svc, a.project_id, "a3")
    svc.engine.catch_up_all()
    assert seen(svc) == ["a1", "b1", "b2"]
    assert [p.position for p in svc.engine.parked(FOLD)] == [bad, a2, a3]
    assert svc.engine.retry(FOLD) == 0, "still failing: nothing applied"
    assert svc.engine.parked(FOLD)[0].attempts == 2

    poison.Fold.fixed = True
    assert svc.engine.retry(FOLD) == 3
    assert seen(svc) == ["a1", "poison", "b1", "a2", "b2", "a3"]
    assert performed(svc) == ["a1", "b1", "b2", "poison", "a2", "a3"], "applied in the stream's order"
    assert svc.engine.parked() == []
    block(svc, a.project_id, "a4")
    svc.engine.catch_up_all()
    assert seen(svc)[-1] == "a4"


def test_a_failure_in_the_middle_of_a_batch_keeps_the_rest_of_the_batch(svc: Services) -> None:
    tenants = [make_tenant(svc) for _ in range(3)]
    for i in range(20):
        for j, t in enumerate(tenants):
            block(svc, t.project_id, "poison" if (i, j) == (5, 1) else f"m{i}-{j}")
    svc.engine.catch_up_all()
    applied = seen(svc)
    assert len(applied) == 60 - 15  # the poison event and the 14 later ones of its stream wait
    assert all(not m.endswith("-1") or int(m[1:].split("-")[0]) < 5 for m in applied)
    assert len(svc.engine.parked(FOLD)) == 15


def test_the_rebuild_of_a_view_parks_the_same_event_and_completes(svc: Services) -> None:
    t = make_tenant(svc)
    block(svc, t.project_id, "one")
    bad = block(svc, t.project_id, "poison")
    two = block(svc, t.project_id, "two")
    svc.engine.catch_up_all()

    assert svc.engine.rebuild(FOLD) == 2
    parked = svc.engine.parked(FOLD)
    assert [(p.generation, p.position, p.status) for p in parked] == [(2, bad, "failed"), (2, two, "waiting")]
    assert seen(svc) == ["one"]
    poison.Fold.fixed = True
    assert svc.engine.retry(FOLD) == 2
    assert seen(svc) == ["one", "poison", "two"]


def test_readyz_names_the_view_with_parked_events(svc: Services) -> None:
    client: FlaskClient = create_app(svc).test_client()
    svc.heartbeat.beat()  # as a worker does (this test catches up itself)
    assert client.get("/readyz").json == {"ready": True, "reasons": []}
    t = make_tenant(svc)
    block(svc, t.project_id, "poison")
    svc.engine.catch_up_all()

    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["reasons"] == [
        "view poison_fold has 1 parked events (1 failed): see `eventry projections errors`"
    ]
    assert client.get("/healthz").status_code == 200, "the process still answers"
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'eventry_projection_parked_events{projection="poison_fold"} 1.0' in metrics
    poison.Fold.fixed = True
    svc.engine.retry(FOLD)
    assert client.get("/readyz").status_code == 200


def test_readyz_names_a_missing_view_and_an_outage_parks_nothing(svc: Services) -> None:
    t = make_tenant(svc)
    svc.engine.catch_up_all()
    with svc.db.transaction() as tx:
        tx.execute("DROP TABLE v_poison_fold_g1_seen")
    block(svc, t.project_id, "m")
    with pytest.raises(Exception, match="v_poison_fold_g1_seen"):
        svc.engine.catch_up_all([FOLD])
    assert svc.engine.parked() == [], "a missing table is not the event's fault"
    assert svc.engine.readiness() == ["view poison_fold is missing tables: run `eventry migrate`"]


def test_an_event_that_cannot_be_decoded_is_parked_by_every_view_that_reads_it(svc: Services) -> None:
    a, b = make_tenant(svc), make_tenant(svc)
    stream = streams.project(a.project_id)
    version = svc.store.stream_version(stream) + 1
    body = {"data": {"metric_mri": 5}, "meta": {}, "at": datetime.now(UTC).isoformat()}
    [bad] = svc.store.recorder.insert_events(
        [StoredEvent(stream, version, "metrics.MetricBlocked.v1", json.dumps(body).encode())]
    )
    block(svc, b.project_id, "fine")
    svc.engine.catch_up_all()

    parked = svc.engine.parked()
    readers = {p.projection for p in parked}
    assert FOLD in readers and "project_options" in readers
    assert {(p.position, p.status) for p in parked} == {(bad, "failed")}
    assert "TypeError" in parked[0].error
    assert seen(svc) == ["fine"]
    assert all(s.lag == 0 for s in svc.engine.status())


def test_the_worker_retries_a_parked_stream_with_back_off_until_it_folds(svc: Services) -> None:
    svc.engine.retry_base = 0.02
    failures = (
        REGISTRY.get_sample_value("eventry_projection_handler_failures_total", {"projection": FOLD}) or 0.0
    )
    worker = Worker(svc.engine, [FOLD], poll_interval=0.01, retry_interval=0.01)
    thread = worker.start()
    try:
        t = make_tenant(svc)
        block(svc, t.project_id, "poison")
        block(svc, t.project_id, "after")
        assert wait_until(lambda: any(p.attempts >= 3 for p in svc.engine.parked(FOLD)), 30)
        poison.Fold.fixed = True
        assert wait_until(lambda: not svc.engine.parked(FOLD), 30)
    finally:
        worker.shutdown(thread)
    assert seen(svc) == ["poison", "after"]
    now = REGISTRY.get_sample_value("eventry_projection_handler_failures_total", {"projection": FOLD})
    assert now is not None and now - failures >= 3


def cli(settings: Settings, *args: str, fixed: bool = False) -> subprocess.CompletedProcess[str]:
    """``eventry`` with poison_fold installed, as its own process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTRY_")}
    env.update(
        DATABASE_URL=settings.database_url or "",
        REDIS_URL=settings.redis_url or "",
        EVENTRY_DATA_DIR=str(settings.data_dir),
        EVENTRY_LOG_FORMAT="text",
        PYTHONPATH=str(ROOT),
    )
    if fixed:
        env["EVENTRY_TEST_POISON_FIXED"] = "1"
    command = [sys.executable, "-m", "tests.poison", *args]
    return subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_projections_errors_lists_it_and_retry_applies_it_after_the_fix(svc: Services) -> None:
    t = make_tenant(svc)
    bad = block(svc, t.project_id, "poison")
    waiting = block(svc, t.project_id, "after")
    svc.engine.catch_up_all()
    settings = svc.settings

    listed = cli(settings, "projections", "errors")
    assert listed.returncode == 0, listed.stderr
    header, *rows = listed.stdout.splitlines()
    assert header.split() == ["PROJECTION", "GENERATION", "POSITION", "STREAM", "TOPIC", "ATTEMPTS", "ERROR"]
    assert rows[0].split()[:6] == [
        FOLD,
        "1",
        str(bad),
        str(streams.project(t.project_id)),
        "metrics.MetricBlocked.v2",
        "1",
    ]
    assert rows[0].rstrip().endswith("ValueError: cannot fold c:custom/poison@none")
    assert rows[1].split()[2] == str(waiting) and rows[1].rstrip().endswith("(waiting)")
    as_json = json.loads(cli(settings, "projections", "errors", "--projection", FOLD, "--json").stdout)
    assert [(p["position"], p["status"]) for p in as_json] == [(bad, "failed"), (waiting, "waiting")]
    assert "no parked events" in cli(settings, "projections", "errors", "--projection", "directory").stdout

    rebuilt = cli(settings, "projections", "rebuild", FOLD)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert [p.generation for p in svc.engine.parked(FOLD)] == [2, 2]

    still = cli(settings, "projections", "retry", FOLD)
    assert still.returncode == 1
    assert "0 parked events applied, 2 still parked" in still.stdout
    assert "cannot fold" in still.stderr

    fixed = cli(settings, "projections", "retry", FOLD, fixed=True)
    assert fixed.returncode == 0, fixed.stderr
    assert f"{FOLD}: 2 parked events applied, 0 still parked" in fixed.stdout
    assert seen(svc) == ["poison", "after"]
    assert "no parked events" in cli(settings, "projections", "errors").stdout
