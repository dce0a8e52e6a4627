"""A round of the projection engine reads the log once for every view behind: views given
nothing move in one statement, the others fold their own part (in parallel on PostgreSQL),
a view far behind holds no other back, one view's failure stops no other, and the events the
views share come out of a round as they were read."""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pytest
from flask.testing import FlaskClient

from api.app import create_app
from commands.metrics import BlockMetric
from events import Recorded
from events.metrics import MetricBlockingChanged
from infra.bootstrap import Services, bootstrap, migrate
from infra.config import Settings
from infra.engine import Engine, Read
from projections import PROJECTIONS, Projection, View, on
from tests.conftest import make_tenant

PATCH = {"path": "a.py", "type": "M"}


class Late(Projection):
    """A view added when the log already holds events: it starts from the beginning."""

    name = "late"
    tables = {"seen": "position BIGINT PRIMARY KEY"}

    @on(MetricBlockingChanged)
    def _changed(self, view: View, rec: Recorded) -> None:
        view.write("INSERT INTO {seen} (position) VALUES (%s)", (rec.position,))


class Outage(Projection):
    """A view whose database goes away on every metric event (a transient error: the batch is
    retried, nothing is parked)."""

    name = "outage"
    tables = {"seen": "position BIGINT PRIMARY KEY"}

    @on(MetricBlockingChanged)
    def _changed(self, view: View, rec: Recorded) -> None:
        raise psycopg.OperationalError("the server went away")


@pytest.fixture
def svc(idle: Services) -> Services:
    return idle


def with_views(svc: Services, *extra: type[Projection], batch_size: int = 500) -> Engine:
    engine = Engine(svc.db, svc.store, (*PROJECTIONS, *extra), batch_size=batch_size)
    engine.migrate()
    return engine


def spy(engine: object, method: str) -> list[Any]:
    """Record the arguments of each call of ``engine``'s ``method`` (the call still happens):
    positional ones, then a dict of the named ones."""
    calls: list[Any] = []
    real = getattr(engine, method)

    def recording(*args: Any, **kwargs: Any) -> Any:
        calls.append((*args, kwargs))
        return real(*args, **kwargs)

    setattr(engine, method, recording)
    return calls


def test_one_read_and_one_transaction_serve_every_view_and_only_views_that_fold_an_event_fold(
    svc: Services,
) -> None:
    t = make_tenant(svc)
    svc.engine.catch_up_all()
    position = svc.dispatch(BlockMetric(t.project_id, "c:custom/shared@none")).position
    reads = spy(svc.engine, "_read_batch")
    folds = spy(svc.engine, "_applied")
    transactions = spy(svc.db, "transaction")
    assert svc.engine.catch_up_all() == len(PROJECTIONS)  # one batch for each view behind
    assert len(reads) == 1
    [written] = svc.store.read_log(position - 1, 1)
    folding = {p.name for p in PROJECTIONS if p.folds(written.event)}
    assert {"project_options", "relay_configs", "audit_log", "org_events"} <= folding
    assert {name for _, name, *_ in folds} == folding
    writing = [t for t in transactions if t[-1].get("write", True)]
    assert len(writing) == 1  # every view's batch and position in one transaction
    assert set(svc.engine.positions().values()) == {position}


def test_a_view_far_behind_holds_no_other_back(svc: Services) -> None:
    t = make_tenant(svc)
    for i in range(12):
        svc.dispatch(BlockMetric(t.project_id, f"c:custom/m{i}@none"))
    svc.engine.catch_up_all()
    engine = with_views(svc, Late, batch_size=5)  # ``late`` starts at 0, 12 metric events behind
    head = svc.dispatch(BlockMetric(t.project_id, "c:custom/new@none")).position
    after_rounds: list[dict[str, int]] = []
    engine.catch_up_all(moved=lambda: after_rounds.append(engine.positions()))
    first = after_rounds[0]
    assert first["late"] < head
    assert {name: at for name, at in first.items() if name != "late"} == dict.fromkeys(
        (p.name for p in PROJECTIONS), head
    )
    assert after_rounds[-1] == dict.fromkeys([*(p.name for p in PROJECTIONS), "late"], head)
    with engine.read("late") as view:
        assert len(view.execute("SELECT position FROM {seen}")) == 13


def test_one_views_failure_stops_no_other_in_its_round(svc: Services) -> None:
    t = make_tenant(svc)
    engine = with_views(svc, Outage)
    engine.catch_up_all()
    head = svc.dispatch(BlockMetric(t.project_id, "c:custom/outage@none")).position
    with pytest.raises(psycopg.OperationalError):
        engine.catch_up_all()
    positions = engine.positions()
    assert positions.pop("outage") < head
    assert set(positions.values()) == {head}
    assert engine.parked() == []  # an outage is retried, never parked


def test_the_events_a_round_shares_come_out_of_it_as_they_were_read(svc: Services) -> None:
    client: FlaskClient = create_app(svc).test_client()
    t = make_tenant(svc, scopes=("project:read", "project:write", "project:releases", "org:write"))
    writes: list[tuple[str, str, dict[str, Any]]] = [
        ("PUT", f"/api/0/projects/{t.org_slug}/{t.project_slug}/metrics/visibility/",
         {"operationType": "blockMetric", "metricMri": "c:custom/a@none"}),
        ("PUT", f"/api/0/projects/{t.org_slug}/{t.project_slug}/",
         {"options": {"sentry:origins": "https://a.example\nhttps://b.example"}, "safeFields": ["x"]}),
        ("POST", f"/api/0/organizations/{t.org_slug}/releases/",
         {"version": "1.0", "projects": [t.project_slug],
          "commits": [{"id": "a" * 40, "repository": "acme/app", "patch_set": [PATCH]}]}),
        ("POST", f"/api/0/organizations/{t.org_slug}/releases/1.0/deploys/",
         {"environment": "production"}),
        ("POST", f"/api/0/projects/{t.org_slug}/{t.project_slug}/keys/", {"name": "second"}),
    ]  # fmt: skip
    for method, path, body in writes:
        reply = client.open(path, method=method, json=body, headers=t.headers())
        assert reply.status_code < 300, (path, reply.get_json())
    shared: list[Read] = []
    real = svc.engine._read_batch

    def keeping(*args: Any) -> Read:
        read = real(*args)
        shared.append(read)
        return read

    svc.engine._read_batch = keeping  # type: ignore[method-assign]
    svc.engine.catch_up_all()
    as_read = [r for read in shared for r in read.records]
    assert len(as_read) == svc.store.head()
    assert as_read == svc.store.read_log(0, len(as_read))  # decoded afresh: equal in every field


def test_a_view_another_process_moved_during_the_round_is_folded_once(svc: Services) -> None:
    t = make_tenant(svc)
    svc.engine.catch_up_all()
    head = svc.dispatch(BlockMetric(t.project_id, "c:custom/raced@none")).position
    other = Engine(svc.db, svc.store)  # another process's engine, same database
    real = svc.engine._lock_many

    def after_the_other(tx: Any, names: list[str]) -> Any:
        other.catch_up_all(["project_options"])  # it commits first: the round finds it moved
        return real(tx, names)

    svc.engine._lock_many = after_the_other  # type: ignore[method-assign]
    svc.engine.catch_up_all()
    assert set(svc.engine.positions().values()) == {head}
    before = svc.engine.dump("project_options")
    svc.engine.rebuild("project_options")
    assert svc.engine.dump("project_options") == before  # applied once, as a rebuild does


def test_an_idle_worker_on_postgresql_polls_ever_less_often_and_a_write_still_wakes_it(
    pg_settings: Settings,
) -> None:
    """Appends NOTIFY the worker; its poll is a fallback that backs off while nothing happens
    (at most every IDLE_POLL_CAP seconds, against every 50 ms before)."""
    migrate(pg_settings)
    svc = bootstrap(pg_settings, create_tables=False)
    try:
        t = make_tenant(svc)
        heads = spy(svc.store, "head")
        svc.start_worker()
        time.sleep(1.5)  # idle: 30 polls at the configured interval, a handful backing off
        assert len(heads) < 12, len(heads)
        position = svc.dispatch(BlockMetric(t.project_id, "c:custom/wake@none")).position
        assert svc.engine.wait(position, timeout=10)
    finally:
        svc.close()
