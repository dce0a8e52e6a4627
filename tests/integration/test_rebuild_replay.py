"""How a rebuild replays the log: the cyclic collector paused throughout, and back on after (an
error too), also when the reader thread's pause and the folding thread's overlap; on PostgreSQL
its batches commit without waiting for the flush, its swap (and live batches) waiting for it."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from events import Recorded
from events.metrics import MetricBlockingChanged
from infra import engine as engine_module
from infra.bootstrap import Services, bootstrap, migrate
from infra.config import Settings
from infra.engine import Engine
from projections import PROJECTIONS, Projection, View, on
from tests.conftest import make_tenant
from tests.integration.test_parked_events import block


class Watching(Projection):
    """Records, per event folded, whether the cyclic collector was on."""

    name = "watching"
    tables = {"seen": "position BIGINT PRIMARY KEY, collecting INTEGER NOT NULL"}

    @on(MetricBlockingChanged)
    def _changed(self, view: View, rec: Recorded) -> None:
        view.write(
            "INSERT INTO {seen} (position, collecting) VALUES (%s, %s)", (rec.position, int(gc.isenabled()))
        )


class Flushing(Projection):
    """Records, per event folded, its transaction's ``synchronous_commit`` (PostgreSQL)."""

    name = "flushing"
    tables = {"seen": "position BIGINT PRIMARY KEY, setting TEXT NOT NULL"}

    @on(MetricBlockingChanged)
    def _changed(self, view: View, rec: Recorded) -> None:
        [(setting,)] = view.execute("SELECT current_setting('synchronous_commit')")
        view.write("INSERT INTO {seen} (position, setting) VALUES (%s, %s)", (rec.position, setting))


def engine_with(settings: Settings, *extra: type[Projection]) -> Services:
    migrate(settings)
    services = bootstrap(settings, create_tables=False)
    services.engine = Engine(services.db, services.store, (*PROJECTIONS, *extra), batch_size=3)
    services.engine.migrate()
    return services


@pytest.fixture
def svc(settings: Settings) -> Iterator[Services]:
    services = engine_with(settings, Watching)
    yield services
    services.close()


def blocks(svc: Services, count: int) -> list[int]:
    tenant = make_tenant(svc)
    return [block(svc, tenant.project_id, f"m{i}") for i in range(count)]


def seen(svc: Services) -> list[tuple[int, int]]:
    with svc.engine.read("watching") as view:
        return [(p, c) for p, c in view.execute("SELECT position, collecting FROM {seen} ORDER BY position")]


def test_a_rebuild_folds_with_the_collector_paused_and_turns_it_back_on(svc: Services) -> None:
    positions = blocks(svc, 40)  # batches of 3, rebuild batches of 30: several of each
    assert gc.isenabled()
    svc.engine.rebuild("watching")
    assert gc.isenabled()
    assert seen(svc) == [(p, 0) for p in positions]


def test_the_collector_is_back_on_after_a_rebuild_that_failed(
    svc: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocks(svc, 10)

    def fail(*args: object) -> None:
        assert not gc.isenabled()
        raise RuntimeError("replay failed")

    monkeypatch.setattr(svc.engine, "_replay", fail)
    with pytest.raises(RuntimeError, match="replay failed"):
        svc.engine.rebuild("watching")
    assert gc.isenabled()


def test_the_collector_stays_paused_until_the_last_overlapping_pause_ends() -> None:
    """The reader thread's pause ends while the folding thread's goes on (and the other way)."""
    first_in, second_out = threading.Event(), threading.Event()
    during: list[bool] = []

    def other() -> None:
        with engine_module._collector_paused():
            first_in.set()
            second_out.wait(5)
        during.append(gc.isenabled())

    assert gc.isenabled()
    thread = threading.Thread(target=other)
    with engine_module._collector_paused():
        thread.start()
        assert first_in.wait(5)
    assert not gc.isenabled()  # the other thread's pause goes on
    second_out.set()
    thread.join(5)
    assert during == [True]
    assert gc.isenabled()
    gc.disable()  # off before: left off
    try:
        with engine_module._collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_only_the_swap_of_a_rebuild_waits_for_the_flush(
    pg_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc = engine_with(pg_settings, Flushing)
    try:
        replayed = blocks(svc, 10)
        replay = svc.engine._replay
        later: list[int] = []

        def replay_then_append(*args: Any) -> None:
            replay(*args)
            later.extend(blocks(svc, 2))  # after the replay: folded in the swap's transaction

        monkeypatch.setattr(svc.engine, "_replay", replay_then_append)
        svc.engine.rebuild("flushing")
        live = blocks(svc, 1)
        svc.engine.catch_up_all()
        with svc.engine.read("flushing") as view:
            settings = dict(view.execute("SELECT position, setting FROM {seen}"))
        assert {p: settings[p] for p in replayed} == dict.fromkeys(replayed, "off")
        assert {p: settings[p] for p in later + live} == dict.fromkeys(later + live, "on")
    finally:
        svc.close()
