"""A read waiting for the views is woken by the worker's word that they moved, not by its next
poll: in the worker's own process, and on PostgreSQL in every other process (LISTEN/NOTIFY).

Polling is set to 30 s here, so a wait that ends within seconds was woken."""

from __future__ import annotations

import threading
import time

import pytest
from flask.testing import FlaskClient

from infra.bootstrap import Services
from infra.progress import ProgressSignal
from tests.conftest import Tenant, block_metric

SLOW_POLL = (30.0, 30.0)


def paused(services: Services) -> None:
    assert services.worker is not None
    services.worker.shutdown(services._thread)
    services.worker, services._thread = None, None


def test_a_wait_ends_when_the_worker_commits(client: FlaskClient, services: Services, tenant: Tenant) -> None:
    paused(services)
    position = block_metric(client, tenant, "c:custom/woken@none")
    engine = services.engine
    engine.poll_delays = SLOW_POLL
    looked = threading.Event()
    positions = engine.positions

    def looking(names: list[str] | None = None) -> dict[str, int]:
        found = positions(names)
        looked.set()  # the wait saw the views behind and is about to sleep
        return found

    engine.positions = looking  # type: ignore[method-assign]
    outcome: list[bool] = []
    waiter = threading.Thread(target=lambda: outcome.append(engine.wait(position, ["project_options"], 60)))
    waiter.start()
    assert looked.wait(10)
    started = time.monotonic()
    services.start_worker()
    waiter.join(20)
    assert outcome == [True] and time.monotonic() - started < 15


@pytest.mark.parametrize("settings", ["postgres"], indirect=True)
def test_another_process_hears_that_the_views_moved(
    client: FlaskClient, services: Services, tenant: Tenant
) -> None:
    """An API process's signal, apart from the worker's: woken through PostgreSQL."""
    progress = services.engine.progress
    other = ProgressSignal(progress.conninfo, progress.channel, progress.wake)
    try:
        seen = other.seen()  # starts its listener
        assert other.listening.wait(10)
        woken = threading.Event()
        waiter = threading.Thread(target=lambda: (other.wait(seen, 30), woken.set()))
        waiter.start()
        block_metric(client, tenant, "c:custom/heard@none")
        assert woken.wait(15)
    finally:
        other.close()
