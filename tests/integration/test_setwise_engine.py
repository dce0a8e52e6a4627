"""The engine with set-wise projections: a failure when a batch is written (not while its events
are folded) still parks only the offending stream, and a round of an idle worker takes no lock."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
import pytest

from events import Recorded
from events.metrics import MetricBlockingChanged
from infra.bootstrap import Services, bootstrap, migrate
from infra.config import Settings
from infra.db import _PgTx
from infra.engine import Engine
from projections import PROJECTIONS, Projection, View, on
from tests.conftest import make_tenant
from tests.integration.test_parked_events import block


class Collecting(Projection):
    """Collects a batch's metrics and writes them in ``flush``, failing there on ``poison``
    (a render-time failure: no handler raised)."""

    name = "collecting"
    tables = {"seen": "position BIGINT PRIMARY KEY, mri TEXT NOT NULL"}

    @on(MetricBlockingChanged)
    def _changed(self, view: View, rec: Recorded) -> None:
        assert isinstance(rec.event, MetricBlockingChanged)
        view.pending = [*(view.pending or []), (rec.position, rec.event.metric_mri)]

    def prepare(self, view: View, records: Sequence[Recorded]) -> None:
        view.pending = []

    def flush(self, view: View) -> None:
        rows, view.pending = view.pending or [], None
        if any("poison" in mri for _, mri in rows):
            raise ValueError("cannot render poison")
        view.executemany("INSERT INTO {seen} (position, mri) VALUES (%s, %s)", rows)


@pytest.fixture
def svc(settings: Settings) -> Iterator[Services]:
    migrate(settings)
    services = bootstrap(settings, create_tables=False)
    services.engine = Engine(services.db, services.store, (*PROJECTIONS, Collecting))
    services.engine.migrate()
    yield services
    services.close()


def test_a_failure_at_flush_parks_only_the_offending_stream(svc: Services) -> None:
    a, b = make_tenant(svc), make_tenant(svc)
    writes = ((a, "a1"), (a, "poison"), (b, "b1"), (a, "a2"))
    at = {name: block(svc, tenant.project_id, name) for tenant, name in writes}
    svc.engine.catch_up_all()
    with svc.engine.read("collecting") as view:
        seen = [mri for (mri,) in view.execute("SELECT mri FROM {seen} ORDER BY position")]
    assert seen == ["c:custom/a1@none", "c:custom/b1@none"]
    parked = svc.engine.parked("collecting")
    assert [(p.position, p.status) for p in parked] == [(at["poison"], "failed"), (at["a2"], "waiting")]
    assert "cannot render poison" in parked[0].error
    assert svc.engine.positions(["collecting"])["collecting"] == svc.store.head()


def test_an_idle_round_reads_the_head_and_locks_no_view(pg_settings: Settings) -> None:
    """The old round took every view's state row FOR UPDATE, even at the head: it would wait
    on another transaction's lock here (bounded by the join, no timing measured)."""
    migrate(pg_settings)
    svc = bootstrap(pg_settings, create_tables=False)
    try:
        make_tenant(svc)
        svc.engine.catch_up_all()
        fresh = Engine(svc.db, svc.store)  # has seen no position yet: reads them once
        conninfo = pg_settings.postgres_conninfo()
        with psycopg.connect(conninfo) as holder:
            holder.execute("SELECT * FROM projection_state FOR UPDATE")
            rounds: list[int] = []
            for engine in (fresh, fresh, svc.engine):
                worker = threading.Thread(target=lambda e=engine: rounds.append(e.catch_up_all()))
                worker.start()
                worker.join(60)
                assert not worker.is_alive(), "an idle round waited on a view's lock"
            holder.rollback()
        assert rounds == [0, 0, 0]
    finally:
        svc.close()


class Copying(Projection):
    """One row per metric, keyed by its name alone: a second block of a name (in another
    project) breaks the key. Plain INSERTs, which a batch sends as one COPY on PostgreSQL."""

    name = "copying"
    tables = {"metrics": "mri TEXT PRIMARY KEY, position BIGINT NOT NULL"}

    @on(MetricBlockingChanged)
    def _changed(self, view: View, rec: Recorded) -> None:
        assert isinstance(rec.event, MetricBlockingChanged)
        view.write(
            "INSERT INTO {metrics} (mri, position) VALUES (%s, %s)", (rec.event.metric_mri, rec.position)
        )


def test_a_copied_batch_that_breaks_a_key_parks_only_the_offending_stream(settings: Settings) -> None:
    migrate(settings)
    svc = bootstrap(settings, create_tables=False)
    try:
        svc.engine = Engine(svc.db, svc.store, (*PROJECTIONS, Copying), batch_size=500)
        svc.engine.migrate()
        a, b = make_tenant(svc), make_tenant(svc)
        names = [f"m{i}" for i in range(80)]  # more rows than a COPY is used from
        for name in names[:40]:
            block(svc, a.project_id, name)
        clash = block(svc, b.project_id, "m3")  # m3 is taken: b's stream stops here
        after = block(svc, b.project_id, "other")
        for name in names[40:]:
            block(svc, a.project_id, name)
        svc.engine.catch_up_all()
        with svc.engine.read("copying") as view:
            rows = dict(view.execute("SELECT mri, position FROM {metrics}"))
        assert sorted(rows) == sorted(f"c:custom/{n}@none" for n in names)
        parked = svc.engine.parked("copying")
        assert [(p.position, p.status) for p in parked] == [(clash, "failed"), (after, "waiting")]
    finally:
        svc.close()


def test_a_few_plain_inserts_go_as_one_statement_with_the_same_outcome(pg_settings: Settings) -> None:
    """Fewer rows than a COPY is worth go as one INSERT ... SELECT from JSON: the same rows in,
    and a duplicate key fails it as it fails row by row."""
    migrate(pg_settings)
    svc = bootstrap(pg_settings, create_tables=False)
    rows = [(n,) for n in range(1, 21)]

    def inserted(many: list[tuple[int]]) -> list[tuple[int, int]]:
        with svc.db.transaction() as tx, tx.pipelined():
            tx.write("CREATE TEMPORARY TABLE copy_probe (n INTEGER PRIMARY KEY) ON COMMIT DROP")
            tx.executemany(PROBE, many)
            return [tuple(r) for r in tx.execute("SELECT count(*), max(n) FROM copy_probe")]

    try:
        assert inserted(rows) == [(20, 20)]
        with pytest.raises(psycopg.errors.UniqueViolation):
            inserted([*rows, (3,)])
    finally:
        svc.close()


def test_writes_around_a_copy_keep_their_order_and_errors(pg_settings: Settings) -> None:
    """A COPY leaves the pipeline and starts a new one: what was written before it is in, what
    comes after it goes in, and an error of a write before it surfaces at the COPY."""
    migrate(pg_settings)
    svc = bootstrap(pg_settings, create_tables=False)

    def copy_after(*first: int) -> list[tuple[int, int]]:
        with svc.db.transaction() as tx, tx.pipelined():
            tx.write("CREATE TEMPORARY TABLE copy_probe (n INTEGER PRIMARY KEY) ON COMMIT DROP")
            for n in first:
                tx.write(PROBE, (n,))
            tx.executemany(PROBE, [(n,) for n in range(1, 101)])  # many rows: a COPY
            tx.write(PROBE, (101,))
            return [tuple(r) for r in tx.execute("SELECT count(*), max(n) FROM copy_probe")]

    try:
        assert copy_after(0) == [(102, 101)]
        with pytest.raises(psycopg.errors.UniqueViolation):
            copy_after(0, 0)  # the second fails, and is seen when the COPY ends the pipeline
    finally:
        svc.close()


PROBE = "INSERT INTO copy_probe (n) VALUES (%s)"


UPSERT = (
    "INSERT INTO upsert_probe (k, v, note) VALUES (%s, %s, %s) ON CONFLICT (k) DO UPDATE SET "
    "v = excluded.v, note = COALESCE(excluded.note, upsert_probe.note)"
)


def test_a_large_upsert_through_a_staging_table_does_what_row_by_row_does(pg_settings: Settings) -> None:
    """Thousands of rows with a conflict clause go as a COPY into a staging table and one
    INSERT ... SELECT; rows that update one key twice go row by row (one statement could not)."""
    migrate(pg_settings)
    svc = bootstrap(pg_settings, create_tables=False)
    n = 1500
    first = [(k, k, f"n{k}") for k in range(n)]
    again = [(k, -k, None if k % 2 else "new") for k in range(0, 2 * n, 2)]  # half of them known
    twice = [(7, 1, "a"), *[(k, 0, None) for k in range(3000, 4000)], (7, 2, None)]
    try:
        with svc.db.transaction() as tx, tx.pipelined():
            tx.write("CREATE TEMPORARY TABLE upsert_probe (k INTEGER PRIMARY KEY, v INTEGER, note TEXT)")
            for rows in (first, again, twice):
                tx.executemany(UPSERT, rows)
            got = {k: (v, note) for k, v, note in tx.execute("SELECT k, v, note FROM upsert_probe")}
            stages = tx.execute("SELECT count(*) FROM pg_class WHERE relname LIKE 'eventry_stage_%%'")
            tx.write("DROP TABLE upsert_probe")
            staged = tx._stages  # the first two sets; the third updates key 7 twice
    finally:
        svc.close()
    expected = {k: (v, note) for k, v, note in first}
    for rows in (again, twice):
        for k, v, note in rows:
            expected[k] = (v, note if note is not None else expected.get(k, (None, None))[1])
    assert got == expected
    assert staged == 2 and stages == [(0,)]  # each dropped when its rows were in


TWINS = "k INTEGER PRIMARY KEY, v NUMERIC, note TEXT, flag BOOLEAN, ratio DOUBLE PRECISION, raw BYTEA"


def test_a_medium_upsert_in_one_statement_does_what_row_by_row_does(
    pg_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tens to hundreds of rows with a conflict clause go as one INSERT ... SELECT from a JSON
    array typed by the table's row type; what JSON cannot carry as psycopg would send it
    (bytes, an integer past 64 bits, a datetime) goes row by row. Each set leaves the table as
    the same rows sent one by one leave a twin table."""
    migrate(pg_settings)
    svc = bootstrap(pg_settings, create_tables=False)
    texts = ["plain", 'quote " and \\ backslash', "é ü 雪 😀", "", '{"a": [1]}', "null"]
    sets = [
        [(k, k * 10, texts[k % len(texts)], k % 2 == 0, k / 7, None) for k in range(200)],
        [(k, -k, None if k % 3 else "again", None, None, None) for k in range(100, 300)],
        [(k, 2**40 + k, f"n{k}", True, 1e300, None) for k in range(250, 330)],
        [(k, k, "bytes", False, 0.5, b"\x00\xff") for k in range(0, 90)],  # bytes: row by row
        [(k, 2**70 if k == 5 else k, "big", True, 0.0, None) for k in range(70)],  # past 64 bits
        [(k, k, "few", None, 2.5, None) for k in range(320, 332)],  # a dozen: one statement too
        [(k, k, "seven", False, None, None) for k in range(340, 347)],  # fewer: row by row, unasked
    ]
    sql = (
        "INSERT INTO {t} (k, v, note, flag, ratio, raw) VALUES (%s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (k) DO UPDATE SET v = excluded.v, note = COALESCE(excluded.note, {t}.note), "
        "flag = excluded.flag, ratio = excluded.ratio, raw = excluded.raw"
    )
    one_statement: list[bool] = []
    upserted = _PgTx._upserted

    def counted(self: _PgTx, *args: Any) -> bool:
        one_statement.append(upserted(self, *args))
        return one_statement[-1]

    monkeypatch.setattr(_PgTx, "_upserted", counted)
    try:
        with svc.db.transaction() as tx, tx.pipelined():
            for table in ("medium_probe", "twin_probe"):
                tx.write(f"CREATE TEMPORARY TABLE {table} ({TWINS}) ON COMMIT DROP")
            for rows in sets:
                tx.executemany(sql.format(t="medium_probe"), rows)
                for row in rows:
                    tx.write(sql.format(t="twin_probe"), row)
            got, twin = (
                tx.execute(f"SELECT k, v, note, flag, ratio, raw FROM {t} ORDER BY k")
                for t in ("medium_probe", "twin_probe")
            )
    finally:
        svc.close()
    assert one_statement == [True, True, True, False, False, True]
    assert [tuple(r) for r in got] == [tuple(r) for r in twin] and len(got) == 339


def test_copy_new_copies_only_sets_that_are_all_new(settings: Settings) -> None:
    """PostgreSQL: a large set none of whose keys is in the table goes in as one COPY (True);
    one with a key the table holds, or one key twice, writes nothing (False) and the
    transaction goes on. SQLite has no COPY: always False (the caller upserts)."""
    migrate(settings)
    svc = bootstrap(settings, create_tables=False)
    postgres = settings.is_postgres
    try:
        with svc.db.transaction() as tx, tx.pipelined():
            tx.write("CREATE TABLE copy_new_probe (k INTEGER PRIMARY KEY, v TEXT)")
            new = [(k, f"v{k}") for k in range(100)]
            copied = [
                tx.copy_new("copy_new_probe", "k, v", new),
                tx.copy_new("copy_new_probe", "k, v", [(k, "again") for k in range(99, 200)]),
                tx.copy_new("copy_new_probe", "k, v", [(k % 150 + 200, "twice") for k in range(151)]),
                tx.copy_new("copy_new_probe", "k, v", [(k, "few") for k in range(500, 510)]),
            ]
            tx.write("INSERT INTO copy_new_probe (k, v) VALUES (%s, %s)", (1000, "after"))
            rows = tx.execute("SELECT k, v FROM copy_new_probe ORDER BY k")
            tx.write("DROP TABLE copy_new_probe")
    finally:
        svc.close()
    assert copied == ([True, False, False, False] if postgres else [False] * 4)
    assert [tuple(r) for r in rows] == ([*new, (1000, "after")] if postgres else [(1000, "after")])
