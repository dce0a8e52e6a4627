"""The projection engine: resuming after a killed worker, rebuilds under reads, status."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from commands.metrics import BlockMetric, BlockMetricTags
from infra.bootstrap import Services, bootstrap, migrate
from infra.config import Settings
from infra.pg_recorder import OrderedCommitRecorder
from projections import project_options
from tests.conftest import make_tenant, postgres_settings
from tests.integration.test_recorder import begin_append
from tests.integration.test_recorder import event as stored_event

ROOT = Path(__file__).resolve().parents[2]


def populate(svc: Services, projects: int, ops: int) -> list[int]:
    ids = []
    for _ in range(projects):
        t = make_tenant(svc)
        ids.append(t.project_id)
        for j in range(ops):
            svc.dispatch(BlockMetricTags(t.project_id, f"c:custom/m{j % 7}@none", (f"t{j}",)))
    return ids


def env_for(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTRY_")}
    env.update(DATABASE_URL=settings.database_url or "", REDIS_URL=settings.redis_url or "", **extra)
    env["PYTHONPATH"] = str(ROOT)
    return env


def test_a_killed_worker_resumes_to_the_same_view_as_a_rebuild(pg_settings: Settings) -> None:
    migrate(pg_settings)
    svc = bootstrap(pg_settings, create_tables=False)
    populate(svc, projects=10, ops=150)
    head = svc.store.head()
    command = [sys.executable, "-m", "api.cli", "worker"]
    env = env_for(pg_settings, EVENTRY_BATCH_SIZE="5", EVENTRY_LOG_LEVEL="WARNING")
    worker = subprocess.Popen(command, env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            positions = svc.engine.positions()
            if 0 < positions["project_options"] < head:
                break
            time.sleep(0.005)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        killed_at = svc.engine.positions()
        assert 0 < killed_at["project_options"] < head, "the worker was not caught mid-projection"
    finally:
        worker.kill()
    restarted = subprocess.Popen(command, env=env_for(pg_settings), cwd=ROOT)
    try:
        assert svc.engine.wait(head, timeout=60)
    finally:
        restarted.terminate()
        restarted.wait(10)
    resumed = {name: svc.engine.dump(name) for name in svc.engine.projections}
    for name in svc.engine.projections:
        svc.engine.rebuild(name)
        assert svc.engine.dump(name) == resumed[name], name
    svc.close()


def test_a_rebuild_never_serves_an_empty_view_nor_a_dropped_one(services: Services) -> None:
    """Readers run through back-to-back rebuilds: every read sees the options, none meets a
    table a rebuild dropped (on PostgreSQL, a generation found just before a swap used to be
    dropped by the next rebuild under the reader: UndefinedTable)."""
    tenant = make_tenant(services)
    for j in range(40):
        services.dispatch(BlockMetric(tenant.project_id, f"c:custom/m{j}@none"))
    services.engine.catch_up_all()
    empty_reads: list[int] = []
    errors: list[BaseException] = []
    reads = [0]
    stop = threading.Event()

    def reader(pause: float) -> None:
        try:
            while not stop.is_set():
                with services.engine.read("project_options") as view:
                    # A slow request: it found the generation, works a while, then reads it.
                    time.sleep(pause)
                    if not project_options.options(view, tenant.project_id):
                        empty_reads.append(1)
                reads[0] += 1
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=reader, args=(pause,)) for pause in (0, 0.05)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(12):
            services.engine.rebuild("project_options")
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert not errors, errors
    assert reads[0] > 0 and not empty_reads
    assert [s.generation for s in services.engine.status() if s.name == "project_options"] == [13]
    # the previous generation went with its swap: one generation's tables left, not two
    with services.db.transaction(write=False) as tx:
        rows = tx.execute("SELECT generation FROM projection_state WHERE name = 'project_options'")
        assert rows == [(13,)]
        with pytest.raises(Exception, match=r"(?i)no such table|does not exist"):
            tx.execute(f"SELECT 1 FROM {services.engine.tables('project_options', 12)['current']}")


def test_two_deployments_in_one_database_each_have_their_own_worker(
    postgres_database: str, redis_url: str
) -> None:
    """The worker's advisory lock is per deployment (schema): a worker of one never stands by
    for a worker of the other."""
    deployments = [postgres_settings(postgres_database, redis_url) for _ in range(2)]
    workers = []
    heads = []
    for settings in deployments:
        migrate(settings)
        svc = bootstrap(settings, create_tables=False)
        tenant = make_tenant(svc)
        heads.append(svc.dispatch(BlockMetric(tenant.project_id, "c:custom/m@none")).position)
        svc.close()
        command = [sys.executable, "-m", "api.cli", "worker"]
        workers.append(
            subprocess.Popen(command, env=env_for(settings, EVENTRY_LOG_LEVEL="WARNING"), cwd=ROOT)
        )
    try:
        for settings, head in zip(deployments, heads, strict=True):
            svc = bootstrap(settings, create_tables=False)
            try:
                assert svc.engine.wait(head, timeout=30), f"{settings.database_url} never caught up"
            finally:
                svc.close()
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait(10)


def test_status_reports_position_and_lag(services: Services) -> None:
    services.worker.shutdown() if services.worker else None
    time.sleep(0.1)
    tenant = make_tenant(services)
    services.dispatch(BlockMetric(tenant.project_id, "c:custom/a@none"))
    by_name = {s.name: s for s in services.engine.status()}
    assert by_name["project_options"].lag >= 1
    assert by_name["project_options"].head == services.store.head()
    services.engine.catch_up_all()
    assert all(s.lag == 0 for s in services.engine.status())


def test_migrate_rebuilds_a_view_whose_shape_changed(services: Services) -> None:
    from events import Recorded
    from events.organizations import OrganizationCreated
    from infra.engine import Engine
    from projections import Projection, View, on

    class CountsV1(Projection):
        name = "org_counts"
        tables = {"orgs": "slug TEXT PRIMARY KEY"}

        @on(OrganizationCreated)
        def _org(self, view: View, rec: Recorded) -> None:
            assert isinstance(rec.event, OrganizationCreated)
            view.execute("INSERT INTO {orgs} (slug) VALUES (%s)", (rec.event.slug,))

    class CountsV2(CountsV1):
        tables = {"orgs": "slug TEXT PRIMARY KEY, upper TEXT"}

        @on(OrganizationCreated)
        def _org(self, view: View, rec: Recorded) -> None:
            assert isinstance(rec.event, OrganizationCreated)
            view.execute(
                "INSERT INTO {orgs} (slug, upper) VALUES (%s, %s)", (rec.event.slug, rec.event.slug.upper())
            )

    make_tenant(services, slug="shape-one")
    first = Engine(services.db, services.store, (CountsV1,))
    assert first.migrate() == []
    first.catch_up_all()
    second = Engine(services.db, services.store, (CountsV2,))
    assert second.migrate() == ["org_counts"]
    [status] = second.status()
    assert status.generation == 2 and status.lag == 0
    with second.read("org_counts") as view:
        assert view.execute("SELECT slug, upper FROM {orgs}") == [("shape-one", "SHAPE-ONE")]
    assert second.migrate() == []  # now current


def test_catching_up_until_a_written_position_waits_for_an_append_below_it(pg_settings: Settings) -> None:
    """A later append is committed but not yet readable while an earlier one is in flight:
    ``catch_up_all(until=...)`` (what the CLI does after its own write) waits for it to become
    readable and applies it; without ``until`` it stops at the readable head."""
    migrate(pg_settings)
    svc = bootstrap(pg_settings, create_tables=False)
    recorder = svc.store.recorder
    assert isinstance(recorder, OrderedCommitRecorder)
    try:
        tenant = make_tenant(svc)
        with recorder.datastore.get_connection() as writer:
            begin_append(recorder, writer, stored_event())
            later = svc.dispatch(BlockMetric(tenant.project_id, "c:custom/late@none")).position
            assert later is not None and svc.store.head() < later <= svc.store.written()
            svc.engine.catch_up_all(["project_options"])
            assert svc.engine.positions(["project_options"])["project_options"] < later
            committer = threading.Timer(0.3, lambda: writer.execute("COMMIT"))
            committer.start()
            svc.engine.catch_up_all(["project_options"], until=later, timeout=30)
            committer.join()
        assert svc.engine.positions(["project_options"])["project_options"] >= later
        with svc.engine.read("project_options") as view:
            assert "sentry:blocked_metrics" in project_options.options(view, tenant.project_id)
    finally:
        svc.close()
