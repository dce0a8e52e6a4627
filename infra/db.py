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

import psycopg
from psycopg_pool import ConnectionPool


class Tx(Protocol):
    dialect: str

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    def write(self, sql: str, params: Sequence[Any] = ()) -> None: ...

    def pipelined(self) -> AbstractContextManager[None]: ...


class Database(Protocol):
    dialect: str

    def transaction(self, write: bool = True) -> Any: ...

    def close(self) -> None: ...


# A plain ``INSERT INTO t (a, b) VALUES (%s, %s)``: many rows of it can travel as one COPY.
_PLAIN_INSERT = re.compile(r"\s*INSERT INTO (\w+) \(([\w, ]+)\) VALUES \(%s(?:, ?%s)*\)\s*", re.IGNORECASE)
COPY_FROM_ROWS = 64  # below this, a COPY's extra round trip costs more than it saves


class _PgTx:
    dialect = "postgres"

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self._pipeline: psycopg.Pipeline | None = None
        self._pipelines = ExitStack()  # the open pipeline, left for a COPY (see ``_copy``)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            if self._pipeline is not None:
                self._pipeline.sync()  # the rows (and any queued write's error) now
            return list(cur.fetchall()) if cur.description else []

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Many rows of one statement; a plain INSERT of many rows is sent as a COPY (about
        twice the rows per second of a pipelined executemany, and the same outcome: a
        duplicate key fails the whole statement either way)."""
        if not rows:
            return
        plain = _PLAIN_INSERT.fullmatch(sql) if len(rows) >= COPY_FROM_ROWS else None
        if plain is not None and plain.group(0).count("%s") == plain.group(2).count(",") + 1:
            self._copy(plain.group(1), plain.group(2), rows)
            return
        with self.conn.cursor() as cur:
            cur.executemany(sql, rows)

    def _copy(self, table: str, columns: str, rows: Sequence[Sequence[Any]]) -> None:
        """COPY cannot run in pipeline mode: the pipeline is ended (which waits for the writes
        before, and raises their error), the rows copied, and a new pipeline begun."""
        pipelined = self._pipeline is not None
        if pipelined:
            self._pipelines.close()
            self._pipeline = None
        with self.conn.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
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
