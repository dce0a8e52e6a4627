"""The PostgreSQL log recorder (infra/pg_recorder.py): appends commit concurrently, and still no
reader ever misses, reorders or repeats an event.

The library's own recorder conformance cases run against it first; then in-flight and aborted
appends are staged by hand (two connections, as two writers are), and threads and processes
append while a reader tails the log and must observe exactly the final log.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.tests.persistence import (
    ApplicationRecorderTestCase,
    NonInterleavingNotificationIDsBaseCase,
)
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from infra.config import Settings
from infra.eventstore import build_recorder
from infra.pg_recorder import OrderedCommitRecorder
from tests.cli import run

ROOT = Path(__file__).resolve().parents[2]
LIBRARY_RECORDER = "eventsourcing.postgres:PostgresApplicationRecorder"
_count = iter(range(10**6))


def fresh_env(database_url: str) -> dict[str, str]:
    """The recorder environment of a deployment in a schema of its own."""
    schema = f"rec{os.getpid()}_{next(_count)}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return Settings(database_url=f"{database_url}?schema={schema}").eventsourcing_env(create_table=True)


def recorder_for(env: dict[str, str], **extra: str) -> Any:
    return build_recorder({**env, **extra})


def event(stream: UUID | None = None, version: int = 1, topic: str = "t") -> StoredEvent:
    return StoredEvent(originator_id=stream or uuid4(), originator_version=version, topic=topic, state=b"{}")


class _OnFreshSchema:
    """Mixes into the library's unittest cases: a recorder on a fresh schema per test."""

    database_url: str
    recorders: list[Any]

    @pytest.fixture(autouse=True)
    def _database(self, postgres_database: str) -> Iterator[None]:
        self.database_url = postgres_database
        self.recorders = []
        yield
        for recorder in self.recorders:
            recorder.datastore.close()

    def create_recorder(self) -> OrderedCommitRecorder:
        recorder = recorder_for(fresh_env(self.database_url))
        assert isinstance(recorder, OrderedCommitRecorder)
        self.recorders.append(recorder)
        return recorder


class TestLibraryApplicationRecorderCases(_OnFreshSchema, ApplicationRecorderTestCase[OrderedCommitRecorder]):
    def test_insert_subscribe(self) -> None:
        self.optional_test_insert_subscribe()


class TestLibraryNonInterleavingCase(_OnFreshSchema, NonInterleavingNotificationIDsBaseCase):
    pass


@pytest.fixture
def env(postgres_database: str) -> dict[str, str]:
    return fresh_env(postgres_database)


@pytest.fixture
def recorder(env: dict[str, str]) -> Iterator[OrderedCommitRecorder]:
    made = recorder_for(env)
    yield made
    made.datastore.close()


@pytest.fixture
def writer(recorder: OrderedCommitRecorder) -> Iterator[psycopg.Connection[Any]]:
    """A second writer whose append we hold open between its statements."""
    with recorder.datastore.get_connection() as conn:
        yield conn
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            conn.execute("ROLLBACK")


def begin_append(recorder: OrderedCommitRecorder, conn: psycopg.Connection[Any], stored: StoredEvent) -> int:
    """The recorder's own statements, stopped before COMMIT; returns the position taken."""
    params = recorder.append_params([StoredEvent(stored.originator_id, 1, stored.topic, stored.state)])
    conn.execute("BEGIN")
    conn.execute(recorder.reserve_statement, params)
    [row] = conn.execute(recorder.ordered_insert_statement, params).fetchall()
    return int(row["notification_id"])


def positions(recorder: OrderedCommitRecorder, after: int = 0) -> list[int]:
    return [n.id for n in recorder.select_notifications(after, 1000, inclusive_of_start=False)]


def last_written(recorder: OrderedCommitRecorder) -> int:
    """The highest position in the table, read without the recorder's horizon."""
    with recorder.datastore.get_connection() as conn:
        row = conn.execute(SQL("SELECT max(notification_id) AS n FROM {}").format(recorder.table)).fetchone()
    return int(row["n"]) if row and row["n"] is not None else 0


def drain(recorder: OrderedCommitRecorder, seen: list[int]) -> None:
    """Once every writer has finished: read on until the last position written. A hole an
    aborted append left may hold readers back while unrelated transactions that began before
    the next append are still open (see the module doc of infra/pg_recorder.py), so bounded."""
    target, deadline = last_written(recorder), time.monotonic() + 30
    while (seen[-1] if seen else 0) < target and time.monotonic() < deadline:
        seen.extend(positions(recorder, seen[-1] if seen else 0))


def test_a_reader_stops_below_an_append_that_has_not_committed(
    recorder: OrderedCommitRecorder, writer: psycopg.Connection[Any]
) -> None:
    [first] = recorder.insert_events([event()])
    held = begin_append(recorder, writer, event())
    [later] = recorder.insert_events([event()])  # commits while the lower position is open
    assert held < later
    assert positions(recorder) == [first]
    assert recorder.max_notification_id() == first
    assert positions(recorder, after=first) == []
    writer.execute("COMMIT")
    assert positions(recorder) == [first, held, later]
    assert recorder.max_notification_id() == later


def test_a_topic_filtered_read_stops_there_too(
    recorder: OrderedCommitRecorder, writer: psycopg.Connection[Any]
) -> None:
    begin_append(recorder, writer, event(topic="a"))
    recorder.insert_events([event(topic="b")])
    assert recorder.select_notifications(0, 10, topics=["b"], inclusive_of_start=False) == []
    writer.execute("COMMIT")
    assert [n.topic for n in recorder.select_notifications(0, 10, topics=["b"])] == ["b"]


def test_a_reader_passes_the_hole_an_aborted_append_leaves(
    recorder: OrderedCommitRecorder, writer: psycopg.Connection[Any]
) -> None:
    held = begin_append(recorder, writer, event())
    [later] = recorder.insert_events([event()])
    assert positions(recorder) == []
    writer.execute("ROLLBACK")
    seen: list[int] = []
    drain(recorder, seen)
    assert seen == [later]
    assert held < later
    assert recorder.max_notification_id() == later


def test_unrelated_open_transactions_do_not_hold_readers_back(
    env: dict[str, str], recorder: OrderedCommitRecorder
) -> None:
    """A long view batch (any transaction with an id) must not delay the log: only an append
    can leave a hole, and a transaction that took no position is recognised as such."""
    with recorder.datastore.get_connection() as other:
        other.execute("BEGIN")
        other.execute(f'CREATE TABLE "{env["POSTGRES_SCHEMA"]}".busy (n int)')
        other.execute(f'INSERT INTO "{env["POSTGRES_SCHEMA"]}".busy VALUES (1)')
        ids = [recorder.insert_events([event()])[0] for _ in range(3)]
        assert positions(recorder) == ids
        other.execute("ROLLBACK")


def test_a_transaction_in_another_database_does_not_hold_readers_at_a_hole(
    recorder: OrderedCommitRecorder, writer: psycopg.Connection[Any]
) -> None:
    """Transaction ids are the cluster's: one of another database, begun before an append that
    aborted, looks like a transaction that may still fill the hole. It cannot append here, so
    readers pass the hole while it is still open (the hole alone held them until it ended)."""
    from tests import conftest

    with psycopg.connect(conftest.PG_ADMIN) as elsewhere:
        assert elsewhere.info.dbname != writer.info.dbname
        elsewhere.execute("SELECT pg_current_xact_id()")  # an id, older than the append's
        held = begin_append(recorder, writer, event())
        writer.execute("ROLLBACK")
        [later] = recorder.insert_events([event()])
        assert held < later
        assert positions(recorder) == [later]
        assert recorder.max_notification_id() == later
        # the same transaction in this database still counts: it could be an append
        with recorder.datastore.get_connection() as here:
            here.execute("BEGIN")
            here.execute("SELECT pg_current_xact_id()")
            held = begin_append(recorder, writer, event())
            writer.execute("ROLLBACK")
            recorder.insert_events([event()])
            assert positions(recorder, after=later) == []
            here.execute("ROLLBACK")


def test_the_append_commits_without_notifying_and_the_wake_up_follows(
    env: dict[str, str], recorder: OrderedCommitRecorder
) -> None:
    """A transaction that NOTIFYs holds a server-wide lock through its commit's flush, so an
    append that notified would wait for every other append's flush. The append's own
    statement notifies no one; the recorder's next statement (unflushed) wakes listeners."""
    with recorder.datastore.get_connection() as conn:
        dsn = conn.info.dsn
    with psycopg.connect(dsn, autocommit=True) as listener:
        listener.execute(SQL("LISTEN {}").format(Identifier(recorder.channel_name)))
        with recorder.datastore.get_connection() as conn:
            conn.execute(recorder.append_statement, recorder.append_params([event()]))
        assert list(listener.notifies(timeout=0.3, stop_after=1)) == []
        recorder.insert_events([event()])
        assert len(list(listener.notifies(timeout=5, stop_after=1))) == 1


def test_a_conflicting_append_raises_and_leaves_no_lock_behind(recorder: OrderedCommitRecorder) -> None:
    stream = uuid4()
    recorder.insert_events([event(stream)])
    with pytest.raises(IntegrityError):
        recorder.insert_events([event(uuid4()), event(stream)])
    with recorder.datastore.get_connection() as conn:  # the lock is free for another session
        free = conn.execute("SELECT pg_try_advisory_lock(%s) AS ok", (recorder.lock_key,)).fetchone()
        conn.execute("SELECT pg_advisory_unlock_all()")
    assert free is not None and free["ok"]
    [after] = recorder.insert_events([event()])
    seen: list[int] = []
    drain(recorder, seen)
    assert seen == [1, after]


def test_appends_from_threads_are_read_exactly_once_in_order(recorder: OrderedCommitRecorder) -> None:
    seen: list[int] = []
    done = threading.Event()
    errors: list[BaseException] = []

    def tail() -> None:
        try:
            while not done.is_set():
                seen.extend(positions(recorder, seen[-1] if seen else 0))
            drain(recorder, seen)
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)

    def write(n: int) -> None:
        try:
            for i in range(40):
                stream = uuid4()
                recorder.insert_events([event(stream, v) for v in range(1, 1 + (i + n) % 4 + 1)])
                if i % 7 == 0:  # a conflict: aborted after it took its positions
                    with contextlib.suppress(IntegrityError):
                        recorder.insert_events([event(uuid4()), event(stream)])
        except BaseException as exc:
            errors.append(exc)

    reader = threading.Thread(target=tail)
    reader.start()
    writers = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    done.set()
    reader.join()
    assert not errors
    final = [n.id for n in recorder.select_notifications(None, 100_000)]
    assert len(final) == sum(1 + (i + n) % 4 for n in range(8) for i in range(40))
    assert seen == final


WRITER = """
import sys, uuid
from eventsourcing.persistence import IntegrityError, StoredEvent
from infra.eventstore import build_recorder
env = dict(arg.split("=", 1) for arg in sys.argv[1:])
recorder = build_recorder(env)
for i in range(60):
    stream = uuid.uuid4()
    recorder.insert_events([StoredEvent(stream, v, "p", b"{}") for v in range(1, 2 + i % 3)])
    if i % 9 == 0:
        try:
            recorder.insert_events([StoredEvent(stream, 1, "p", b"{}")])
        except IntegrityError:
            pass
recorder.datastore.close()
"""


def test_appends_from_processes_are_read_exactly_once_in_order(
    env: dict[str, str], recorder: OrderedCommitRecorder
) -> None:
    seen: list[int] = []
    args = [f"{k}={v}" for k, v in {**env, "CREATE_TABLE": "n"}.items()]
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, *args], cwd=ROOT, stderr=subprocess.PIPE)
        for _ in range(4)
    ]
    while any(p.poll() is None for p in procs):
        seen.extend(positions(recorder, seen[-1] if seen else 0))
        time.sleep(0.001)
    drain(recorder, seen)
    for p in procs:
        assert p.wait() == 0, p.stderr.read() if p.stderr else ""
    final = [n.id for n in recorder.select_notifications(None, 100_000)]
    assert len(final) == 4 * sum(1 + i % 3 for i in range(60))
    assert seen == final


def test_migrate_keeps_a_log_the_library_recorder_wrote(postgres_database: str, redis_url: str) -> None:
    env = fresh_env(postgres_database)
    old = recorder_for(env, APPLICATION_RECORDER_TOPIC=LIBRARY_RECORDER)
    stream = uuid4()
    old_ids = old.insert_events([event(stream, 1), event(stream, 2), event()])
    old.datastore.close()
    url = f"{postgres_database}?schema={env['POSTGRES_SCHEMA']}"
    run({"DATABASE_URL": url, "REDIS_URL": redis_url}, "migrate")
    new = recorder_for({**env, "CREATE_TABLE": "n"})
    try:
        with pytest.raises(IntegrityError):
            new.insert_events([event(stream, 2)])
        [next_id] = new.insert_events([event(stream, 3)])
        seen: list[int] = []
        drain(new, seen)
        assert seen == [*old_ids, next_id]
        assert next_id > max(old_ids)
        assert new.max_notification_id() == next_id
    finally:
        new.datastore.close()


@pytest.mark.parametrize("stop", [None, 10**6])
def test_a_page_of_the_log_walks_the_position_index_on_a_table_never_analyzed(
    recorder: OrderedCommitRecorder, stop: int | None
) -> None:
    """Right after a bulk append (autovacuum has not analyzed the table yet) a page of a topic
    filter was planned as a scan of the whole rest of the log, then a sort: each page cost as
    much as reading the log to its end. It must be read in order from the position index."""
    for _ in range(4):
        recorder.insert_events([event(topic="ab"[i % 2]) for i in range(1000)])
    assert [n.id for n in recorder.select_notifications(1000, 3, stop, ["a"], inclusive_of_start=False)] == [
        1001,
        1003,
        1005,
    ]
    statement, params = recorder._notifications(1000, 500, stop, ["a"], False)
    # The statement as the recorder reads a page (select_rows and select_notifications), explained.
    plan = "\n".join(row[0] for row in recorder._page(b"EXPLAIN " + statement, params, tuple_row))
    assert "Index Scan using" in plan and "notification_id_idx on" in plan, plan
    assert "Sort" not in plan and "Bitmap" not in plan, plan


def test_the_head_reads_one_index_entry_whatever_the_log_size(
    recorder: OrderedCommitRecorder, writer: psycopg.Connection[Any]
) -> None:
    """``max(notification_id)`` under the horizon (a parameter to the planner) was planned as a
    bitmap scan counting every row below it: 2 ms at 6,000 events, and growing with the log,
    for every worker round and every wait on a position."""
    for _ in range(4):
        recorder.insert_events([event() for _ in range(1000)])
    writer.execute(SQL("ANALYZE {}").format(recorder.table))
    assert recorder.max_notification_id() == 4000
    rows = writer.execute(b"EXPLAIN (ANALYZE, FORMAT JSON) " + recorder.head_statement).fetchone()
    assert rows is not None
    plan = next(iter(rows.values()))[0]["Plan"]
    scanned = [n for n in _nodes(plan) if n.get("Alias") == "e"]  # the head's own scan of the log
    assert scanned and all(n["Actual Rows"] <= 1 for n in scanned), plan


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def test_the_states_of_the_log_are_compressed_by_lz4_where_the_server_has_it(
    recorder: OrderedCommitRecorder, writer: psycopg.Connection[Any]
) -> None:
    try:
        writer.execute("CREATE TEMPORARY TABLE lz4_probe (b bytea COMPRESSION lz4)")
    except psycopg.errors.FeatureNotSupported:
        pytest.skip("this PostgreSQL is built without lz4: the log keeps pglz")
    large = StoredEvent(uuid4(), 1, "t", os.urandom(64) * 40_000)  # 2.5 MB, compressible
    recorder.insert_events([large])
    row = writer.execute(
        SQL("SELECT pg_column_compression(state) AS method FROM {} WHERE originator_id = %s").format(
            recorder.table
        ),
        (large.originator_id,),
    ).fetchone()
    assert row == {"method": "lz4"}
