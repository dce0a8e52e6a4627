"""The view database: one small interface over PostgreSQL (psycopg 3) and SQLite.

SQL is written once with ``%s`` placeholders; SQLite gets ``?``. A write transaction on
SQLite is ``BEGIN IMMEDIATE`` so concurrent writers queue instead of failing mid-way.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from pathlib import Path
from typing import Any, Protocol

import orjson
import psycopg
from psycopg_pool import ConnectionPool


class Tx(Protocol):
    dialect: str

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    def write(self, sql: str, params: Sequence[Any] = ()) -> None: ...

    def copy_new(
        self, table: str, columns: str, rows: Sequence[Sequence[Any]], types: Sequence[str] | None = None
    ) -> bool: ...

    def pipelined(self) -> AbstractContextManager[None]: ...


class Database(Protocol):
    dialect: str

    def transaction(self, write: bool = True) -> Any: ...

    def close(self) -> None: ...


# ``INSERT INTO t (a, b) VALUES (%s, %s)``, plain or with an ``ON CONFLICT`` clause without
# parameters: many rows of it can travel as one COPY (into a staging table, for a conflict clause).
_INSERT = re.compile(
    r"\s*INSERT INTO (\w+) \(([\w, ]+)\) VALUES \(%s(?:, ?%s)*\)\s*(ON CONFLICT [^%]*)?",
    re.IGNORECASE | re.DOTALL,
)
_CONFLICT_TARGET = re.compile(r"ON CONFLICT \(([\w, ]+)\) DO UPDATE", re.IGNORECASE)
COPY_FROM_ROWS = 64  # below this, a COPY's extra round trip costs more than it saves
ONE_STATEMENT_FROM_ROWS = 8  # from here, rows go as one statement from JSON (``_upserted``)
STAGE_FROM_ROWS = 1000  # a staging table is created for each: worth it for large sets only
# Values a JSON row carries as psycopg would send them; anything else refused (see ``_upserted``).
_PLAIN = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS


class _PgTx:
    dialect = "postgres"

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self._pipeline: psycopg.Pipeline | None = None
        self._pipelines = ExitStack()  # the open pipeline, left for a COPY (see ``_unpipelined``)
        self._stages = 0

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            if self._pipeline is not None:
                self._pipeline.sync()  # the rows (and any queued write's error) now
            return list(cur.fetchall()) if cur.description else []

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Many rows of one statement; a plain INSERT of many rows is sent as a COPY (about
        twice the rows per second of a pipelined executemany, and the same outcome: a
        duplicate key fails the whole statement either way), fewer of them and upserts as one
        statement (``_upserted``, ``_staged``)."""
        if not rows:
            return
        insert = _INSERT.fullmatch(sql) if len(rows) >= ONE_STATEMENT_FROM_ROWS else None
        if insert is not None and sql.count("%s") == insert.group(2).count(",") + 1:
            table, columns, conflict = insert.groups()
            if conflict is None:
                if len(rows) >= COPY_FROM_ROWS:
                    self._copy(table, columns, rows)
                    return
                if self._upserted(table, columns, "", rows):
                    return
            elif _distinct_targets(conflict, columns, rows):
                if len(rows) >= STAGE_FROM_ROWS:
                    self._staged(table, columns, conflict, rows)
                    return
                if self._upserted(table, columns, conflict, rows):
                    return
        with self.conn.cursor() as cur:
            cur.executemany(sql, rows)

    def _copy(self, table: str, columns: str, rows: Sequence[Sequence[Any]]) -> None:
        with (
            self._unpipelined(),
            self.conn.cursor() as cur,
            cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)

    def copy_new(
        self, table: str, columns: str, rows: Sequence[Sequence[Any]], types: Sequence[str] | None = None
    ) -> bool:
        """``rows`` into ``table`` with one COPY when none of them has a key already in it (or
        twice among them): True. Otherwise nothing is written (the COPY's unique violation is
        undone by a savepoint) and False: the caller upserts them. Small sets are not tried.
        ``types`` (PostgreSQL's names of the columns' types, e.g. ``int8``, ``text``): a binary
        COPY, which costs the client a third of the CPU of the text format's per-row encoding
        and the server no parsing; the values must then be of those types exactly."""
        if len(rows) < COPY_FROM_ROWS:
            return False
        binary = " (FORMAT BINARY)" if types else ""
        with self._unpipelined(), self.conn.cursor() as cur:
            cur.execute("SAVEPOINT eventry_copy")
            try:
                with cur.copy(f"COPY {table} ({columns}) FROM STDIN{binary}") as copy:
                    if types:
                        copy.set_types(types)
                    for row in rows:
                        copy.write_row(row)
            except psycopg.errors.UniqueViolation:
                cur.execute("ROLLBACK TO SAVEPOINT eventry_copy")
                copied = False
            else:
                copied = True
            cur.execute("RELEASE SAVEPOINT eventry_copy")
        return copied

    def _staged(self, table: str, columns: str, conflict: str, rows: Sequence[Sequence[Any]]) -> None:
        """The rows copied into a temporary table like ``table``, then one ``INSERT ... SELECT``
        with the conflict clause: what the statement row by row would do, since no two rows
        update one target (``_distinct_targets``) and the stage is read in the order written."""
        self._stages += 1
        stage = f"eventry_stage_{self._stages}"
        with self._unpipelined(), self.conn.cursor() as cur:
            cur.execute(f"CREATE TEMPORARY TABLE {stage} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DROP")
            with cur.copy(f"COPY {stage} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cur.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {stage} {conflict}")
            cur.execute(f"DROP TABLE {stage}")

    def _upserted(self, table: str, columns: str, conflict: str, rows: Sequence[Sequence[Any]]) -> bool:
        """The rows as one ``INSERT ... SELECT`` from a JSON array typed by the table's own row
        type, with the conflict clause (as ``_staged``, without creating a table): one
        statement instead of one per row. False, with nothing sent, when a value is not plain
        JSON (bytes, a datetime, an integer past 64 bits): the caller sends them row by row."""
        names = [c.strip() for c in columns.split(",")]
        try:
            payload = orjson.dumps([dict(zip(names, row, strict=True)) for row in rows], option=_PLAIN)
        except TypeError:  # orjson.JSONEncodeError
            return False
        with self.conn.cursor() as cur:
            cur.execute(
                f"INSERT INTO {table} ({columns}) SELECT {columns} "
                f"FROM json_populate_recordset(NULL::{table}, %s::json) {conflict}",
                (payload.decode(),),
            )
        return True

    @contextmanager
    def _unpipelined(self) -> Iterator[None]:
        """COPY cannot run in pipeline mode: the pipeline is ended (which waits for the writes
        before, and raises their error), and a new one begun after the block."""
        pipelined = self._pipeline is not None
        if pipelined:
            self._pipelines.close()
            self._pipeline = None
        yield
        if pipelined:
            self._pipeline = self._pipelines.enter_context(self.conn.pipeline())

    def write(self, sql: str, params: Sequence[Any] = ()) -> None:
        """A statement whose result nobody reads: inside ``pipelined`` it goes out without
        waiting for the server, and its error (if any) surfaces at a later statement or at
        the end of the block."""
        with self.conn.cursor() as cur:
            cur.execute(sql, params)

    @contextmanager
    def pipelined(self) -> Iterator[None]:
        """Writes queue up and travel with the next read (``execute`` waits for its rows, so
        it syncs); the block's end waits for every result. Saves a round trip per write."""
        if self._pipeline is not None:  # already inside one
            yield
            return
        with self._pipelines:  # ends the pipeline open at the end (a COPY may have replaced it)
            self._pipeline = self._pipelines.enter_context(self.conn.pipeline())
            try:
                yield
            finally:
                self._pipeline = None


def _distinct_targets(conflict: str, columns: str, rows: Sequence[Sequence[Any]]) -> bool:
    """Whether an ``ON CONFLICT ... DO UPDATE`` updates each target row at most once (as one
    statement it must; row by row, a later row would update what an earlier one wrote). A
    ``DO NOTHING`` keeps the first row of a key either way."""
    target = _CONFLICT_TARGET.match(conflict)
    if target is None:
        return "DO UPDATE" not in conflict.upper()
    names = [c.strip() for c in columns.split(",")]
    try:
        at = [names.index(c.strip()) for c in target.group(1).split(",")]
    except ValueError:  # a target column not inserted: cannot tell
        return False
    keys = {tuple(row[i] for i in at) for row in rows}
    return len(keys) == len(rows)


class PostgresDatabase:
    dialect = "postgres"

    def __init__(self, conninfo: str, max_size: int = 8) -> None:
        # No check on checkout (a round trip per use): a connection broken by a server restart
        # fails its request with a 503 and the pool discards it when it is returned.
        self.pool = ConnectionPool(conninfo, min_size=1, max_size=max_size, open=True, timeout=3)

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[_PgTx]:
        with self.pool.connection() as conn:  # commits on success, rolls back on error
            yield _PgTx(conn)

    def close(self) -> None:
        self.pool.close()


class _SqliteTx:
    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cur = self.conn.execute(sql.replace("%s", "?"), tuple(params))
        return cur.fetchall() if cur.description else []

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.conn.executemany(sql.replace("%s", "?"), [tuple(r) for r in rows])

    def write(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.conn.execute(sql.replace("%s", "?"), tuple(params))

    def copy_new(
        self, table: str, columns: str, rows: Sequence[Sequence[Any]], types: Sequence[str] | None = None
    ) -> bool:
        return False  # no COPY: the caller's upsert, one executemany, is SQLite's fast way

    @contextmanager
    def pipelined(self) -> Iterator[None]:
        yield  # no server to wait for


class SqliteDatabase:
    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[_SqliteTx]:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield _SqliteTx(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()
