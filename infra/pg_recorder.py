"""The PostgreSQL log without a table lock held through every commit's fsync.

The library's recorder takes ``LOCK TABLE ... IN EXCLUSIVE MODE`` in each append and keeps it
until the commit is flushed, so that positions (``notification_id``) commit in order and a
tailing reader never passes a position that commits later. That serializes every writer through
one fsync at a time. This recorder keeps positions and their meaning and moves the guarantee:

* **Writers** take a session advisory lock for one statement only, in which the transaction
  gets its id (``pg_current_xact_id()``) and its block of positions (one ``setval``), then
  release it. Among appends, transaction-id order is therefore position order. The INSERT
  (where a duplicate ``(stream, version)`` waits for, then fails against, the other writer) and
  the COMMIT with its fsync happen outside the lock, so concurrent commits share one flush.
  Each row stores its transaction id (``tx_id``).
* **Readers** stop below the lowest position an unfinished append may still commit. From the
  statement's own snapshot: an in-flight transaction ``x`` can hold positions only in a hole
  between the last visible row with ``tx_id < x`` and the first with ``tx_id > x``; the lowest
  such ``x`` bounds the read at the last visible row before it. So every read is a prefix of
  the final log: no event is skipped, reordered or seen twice. A transaction seen running in
  another database of the cluster (whose ids are shared) cannot append here: it bounds nothing.

Everything else (optimistic concurrency, notifications, topic filters, LISTEN/NOTIFY) is the
library's. One append is one statement: a function (``<table>_append``, created by ``eventry
migrate``) that sets the lock timeout, runs the locked statement and the INSERT, in the
statement's own transaction. The NOTIFY that wakes workers follows in a second statement
(``<table>_wake(channel)``, which the worker's word of progress uses too), its own transaction
committed without waiting for the flush: a transaction that notifies holds a server-wide lock
through its commit, which would line appends up again.
The decision and its figures: docs/architecture.md.
"""

from __future__ import annotations

import hashlib
import logging
import weakref
from collections.abc import Sequence
from typing import Any, TypeVar
from uuid import UUID

import psycopg
from eventsourcing.persistence import InterfaceError, Notification, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.utils import retry
from psycopg.adapt import PyFormat
from psycopg.rows import RowFactory, dict_row, tuple_row
from psycopg.sql import SQL, Composable, Composed, Identifier, Literal, Placeholder

__all__ = ["OrderedCommitRecorder"]

LOGGER = logging.getLogger("eventry.recorder")
MAX_POSITION = 2**63 - 1
_APPEND_CURSOR = "_eventry_append_cursor"  # the attribute of a pooled connection keeping its cursor
R = TypeVar("R")


def lock_key(schema: str, table: str) -> int:
    """The advisory-lock key (signed 64 bits) that orders appends to one events table."""
    scope = "\0".join(("eventry", schema, table, "append"))
    digest = hashlib.sha1(scope.encode(), usedforsecurity=False).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class OrderedCommitRecorder(PostgresApplicationRecorder):
    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        schema, table = self.datastore.schema, self.events_table_name
        self.table = SQL("{}.{}").format(Identifier(schema), Identifier(table))
        sequence = Literal(f'"{schema}"."{table}_notification_id_seq"')
        self.lock_key = lock_key(schema, table)
        self.sql_create_statements.extend(self._migration(table))
        # One text for each step, run by the append function and (with placeholders) by the
        # tests that hold an append open between its steps.
        reserve = SQL(
            # MATERIALIZED keeps the order: lock, transaction id, positions, unlock.
            "WITH l AS MATERIALIZED (SELECT pg_advisory_lock({key}) AS locked),"
            " x AS MATERIALIZED (SELECT pg_current_xact_id() AS xid FROM l),"
            " s AS MATERIALIZED (SELECT setval({seq}, nextval({seq}) + {n} - 1) AS last, xid FROM x)"
            " SELECT last, xid, pg_advisory_unlock({key}) AS unlocked FROM s"
        )
        # One array per column, the states' in binary: a composite array in text (the library's
        # way) escapes every byte of the states in Python, a tenth of a large append's time.
        insert = SQL(
            "INSERT INTO {table} (originator_id, originator_version, topic, state,"
            " notification_id, tx_id)"
            " SELECT e.originator_id, e.originator_version, e.topic, e.state,"
            " currval({seq}) - {n} + e.ord, pg_current_xact_id()"
            " FROM unnest({ids}::{id_type}[], {versions}::bigint[], {topics}::text[], {states}::bytea[])"
            " WITH ORDINALITY AS e(originator_id, originator_version, topic, state, ord)"
            " RETURNING notification_id"
        )
        names = {"table": self.table, "seq": sequence, "id_type": SQL(self.datastore.originator_id_type)}
        params = {p: Placeholder(p) for p in ("key", "n", "ids", "versions", "topics")}
        params["states"] = Placeholder("states", PyFormat.BINARY)
        self.reserve_statement = reserve.format(**names, **params)
        self.ordered_insert_statement = insert.format(**names, **params)
        self.append_function = SQL("{}.{}").format(Identifier(schema), Identifier(f"{table}_append"))
        self.sql_create_statements.append(self._append_function_ddl(reserve, insert, names))
        self.wake_function = SQL("{}.{}").format(Identifier(schema), Identifier(f"{table}_wake"))
        self.sql_create_statements.append(self._wake_function_ddl())
        # (its channel a parameter: the worker's progress word goes the same way)
        self.wake_statement = SQL("SELECT {}(%s::text)").format(self.wake_function).as_bytes(None)
        call = "SELECT n FROM {}(%(ids)s, %(versions)s, %(topics)s, %(states)b, %(key)s, %(lock_wait)s) AS n"
        self.append_statement = SQL(call).format(self.append_function).as_bytes(None)  # rendered once
        self.lock_wait = f"{self.datastore.lock_timeout}s"
        self.notify_statement = SQL("NOTIFY {}").format(Identifier(self.channel_name))  # imports
        self.horizon = self._horizon()
        self.head_statement = (
            self.horizon
            + SQL(
                # Not max(): the horizon is a parameter to the planner, which then estimated
                # "every row" and counted them all (O(log size) per call); this reads one index
                # entry.
                "SELECT e.notification_id AS max FROM {t} AS e"
                " WHERE e.notification_id <= (SELECT id FROM horizon)"
                " ORDER BY e.notification_id DESC LIMIT 1"
            ).format(t=self.table)
        ).as_bytes(None)
        self._page_statements: dict[tuple[bool, bool, bool, bool], bytes] = {}
        self._unsorted: weakref.WeakSet[psycopg.Connection[Any]] = weakref.WeakSet()  # see _page
        self.stream_version_statement = SQL(
            "SELECT max(originator_version) FROM {} WHERE originator_id = %s"
        ).format(self.table)

    def _migration(self, table: str) -> list[Composed]:
        """Run by ``eventry migrate``: rows written before it were ordered by the table lock
        and precede every later one, so transaction id 0 stands for all of them."""
        return [
            SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS tx_id xid8 NOT NULL DEFAULT '0'").format(self.table),
            SQL("ALTER TABLE {} ALTER COLUMN tx_id SET DEFAULT pg_current_xact_id()").format(self.table),
            SQL("CREATE INDEX IF NOT EXISTS {} ON {} (tx_id, notification_id)").format(
                Identifier(f"{table}_tx_id_idx"), self.table
            ),
            # Large states (10,000 commits: 1.8 MB) compressed by lz4, not pglz: 15 -> 6 ms to
            # store one, for a fifth more bytes. Rows stored before keep theirs; a server built
            # without lz4 keeps pglz.
            SQL("DO $$ BEGIN EXECUTE {}; EXCEPTION WHEN feature_not_supported THEN NULL; END $$").format(
                Literal(
                    SQL("ALTER TABLE {} ALTER COLUMN state SET COMPRESSION lz4")
                    .format(self.table)
                    .as_string(None)
                )
            ),
        ]

    def _append_function_ddl(self, reserve: SQL, insert: SQL, names: dict[str, Composable]) -> Composed:
        """The append as one server-side function, created by ``eventry migrate``: called in
        one statement (its own transaction), it costs the client a quarter of the CPU of the
        same steps sent as a pipeline of six statements, and the server less too."""
        columns = ("ids", "versions", "topics", "states")
        params = {c: SQL(f"p_{c}") for c in (*columns, "key")} | {"n": SQL("cardinality(p_ids)")}
        return SQL(
            "CREATE OR REPLACE FUNCTION {function}(p_ids {id_type}[], p_versions bigint[],"
            " p_topics text[], p_states bytea[], p_key bigint, p_lock_wait text)"
            " RETURNS SETOF bigint LANGUAGE plpgsql AS $append$"
            " DECLARE unlocked boolean;"
            " BEGIN"
            " PERFORM set_config('lock_timeout', p_lock_wait, true);"
            " SELECT r.unlocked INTO unlocked FROM ({reserve}) AS r;"
            " RETURN QUERY {insert};"
            " END $append$"
        ).format(
            function=self.append_function,
            reserve=reserve.format(**names, **params),
            insert=insert.format(**names, **params),
            **names,
        )

    def _wake_function_ddl(self) -> Composed:
        """The wake-up after an append, in a transaction of its own whose commit does not wait
        for the flush. A transaction that NOTIFYs holds one lock of the whole server from its
        commit's start to its end (PostgreSQL keeps the notification queue in commit order):
        inside the append, every append's commit would wait for the one before it to reach
        the disk, which is what this recorder exists to avoid."""
        return SQL(
            "CREATE OR REPLACE FUNCTION {function}(p_channel text) RETURNS void LANGUAGE plpgsql"
            " AS $wake$"
            " BEGIN"
            " PERFORM set_config('synchronous_commit', 'off', true);"
            " PERFORM pg_notify(p_channel, '');"
            " END $wake$"
        ).format(function=self.wake_function)

    def _horizon(self) -> Composed:
        """The highest position no unfinished append can still fill below (see module doc)."""
        before = SQL(
            "(SELECT e.notification_id FROM {t} AS e WHERE e.tx_id < {x}"
            " ORDER BY e.tx_id DESC, e.notification_id DESC LIMIT 1)"
        )
        after = SQL(
            "(SELECT e.notification_id FROM {t} AS e WHERE e.tx_id > {x}"
            " ORDER BY e.tx_id, e.notification_id LIMIT 1)"
        )
        return SQL(
            "WITH inflight AS MATERIALIZED (SELECT x FROM pg_snapshot_xip(pg_current_snapshot()) AS x),"
            " gaps AS MATERIALIZED (SELECT f.x FROM inflight AS f"
            "  WHERE {after_f} > COALESCE({before_f}, 0) + 1),"
            # Transaction ids are the cluster's: one running in another database (another
            # service, a benchmark) can append nothing here, and would otherwise hold readers
            # at a gap in positions (an aborted append's, an imported log's) while it lasts.
            # Only one seen running elsewhere now is left out; the activity is read only when
            # some transaction is at a gap (rarely: an append is one short statement).
            " blocking AS (SELECT min(g.x) AS x FROM gaps AS g WHERE NOT EXISTS (SELECT 1"
            "  FROM pg_stat_activity AS a"
            "  WHERE a.backend_xid = g.x::xid AND a.datname <> current_database())),"
            " horizon AS (SELECT CASE WHEN b.x IS NULL THEN {max}"
            "  ELSE COALESCE({before_b}, 0) END AS id FROM blocking AS b) "
        ).format(
            after_f=after.format(t=self.table, x=SQL("f.x")),
            before_f=before.format(t=self.table, x=SQL("f.x")),
            before_b=before.format(t=self.table, x=SQL("b.x")),
            max=Literal(MAX_POSITION),
        )

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        if not stored_events:
            return []
        params = self.append_params(stored_events)
        with self.datastore.get_connection() as conn:
            try:
                return self._append(conn, params)
            except BaseException:
                conn.__dict__.pop(_APPEND_CURSOR, None)
                _release(conn)
                raise

    def append_params(self, stored_events: Sequence[StoredEvent]) -> dict[str, Any]:
        """The parameters of ``append_statement`` (and of the steps it runs, for the tests)."""
        return {
            "key": self.lock_key,
            "lock_wait": self.lock_wait,
            "n": len(stored_events),
            "ids": [e.originator_id for e in stored_events],
            "versions": [e.originator_version for e in stored_events],
            "topics": [e.topic for e in stored_events],
            "states": [e.state for e in stored_events],
        }

    def _append(self, conn: psycopg.Connection[Any], params: dict[str, Any]) -> list[int]:
        # autocommit: the call is its own transaction, committed when the statement ends. The
        # cursor is kept with its pooled connection (dropped after a failure): a new cursor looked
        # up the dumpers of the four arrays again, some 40 µs of client CPU per append.
        curs: psycopg.Cursor[Any] | None = conn.__dict__.get(_APPEND_CURSOR)
        if curs is None or curs.closed:
            curs = conn.__dict__[_APPEND_CURSOR] = conn.cursor(row_factory=tuple_row)
        curs.execute(self.append_statement, params, prepare=True)
        positions = [row[0] for row in curs.fetchall()]
        try:  # a hint: a worker that misses it finds the events at its next poll
            curs.execute(self.wake_statement, (self.channel_name,), prepare=True)
        except psycopg.Error as exc:  # the append is in: it must not be sent again
            conn.__dict__.pop(_APPEND_CURSOR, None)
            _release(conn)
            LOGGER.warning("append woke no worker: %s", exc)
        return positions

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        statement, params = self._notifications(start, limit, stop, topics, inclusive_of_start)
        return [
            Notification(
                id=row["notification_id"],
                originator_id=row["originator_id"],
                originator_version=row["originator_version"],
                topic=row["topic"],
                state=bytes(row["state"]),
            )
            for row in self._page(statement, params, dict_row)
        ]

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def select_rows(
        self, after: int, limit: int, stop: int | None = None, topics: Sequence[str] = ()
    ) -> list[tuple[Any, ...]]:
        """``select_notifications`` after ``after`` as plain rows ``(originator_id, version, topic,
        state, position)``: what a reader that decodes every event needs, without building a
        dict and a Notification per row first (a tenth of a rebuild's time)."""
        statement, params = self._notifications(after, limit, stop, topics, False)
        return self._page(statement, params, tuple_row)

    def _page(self, statement: bytes, params: list[Any], rows: RowFactory[R]) -> list[R]:
        """A page of the log, read in order from the position index. Left to itself, the
        planner reads a table whose statistics are missing or stale (right after a bulk append
        or an import) as the whole rest of the log, then sorts it for the page: each page of a
        rebuild cost as much as reading the log to its end. Each pooled connection turns
        sorting off once for its session, which leaves the index walk (every statement of this
        recorder is an index walk or lookup; sorting where nothing else works still happens):
        one statement per page, as before."""
        with self.datastore.get_connection() as conn:
            if conn not in self._unsorted:
                conn.execute("SET enable_sort = off")
                self._unsorted.add(conn)
            with conn.cursor(row_factory=rows) as curs:
                curs.execute(statement, params, prepare=True)
                return curs.fetchall()

    def _notifications(
        self, start: int | None, limit: int, stop: int | None, topics: Sequence[str], inclusive_of_start: bool
    ) -> tuple[bytes, list[Any]]:
        params: list[Any] = [p for p in (start, stop) if p is not None]
        if topics:
            params.append(list(topics))
        params.append(limit)
        shape = (start is not None, inclusive_of_start, stop is not None, bool(topics))
        statement = self._page_statements.get(shape)
        if statement is None:  # rendered once per shape: composing it cost more than the read
            statement = self._page_statements[shape] = self._page_statement(*shape)
        return statement, params

    def _page_statement(self, start: bool, inclusive_of_start: bool, stop: bool, topics: bool) -> bytes:
        where = [SQL("e.notification_id <= (SELECT id FROM horizon)")]
        if start:
            where.append(SQL("e.notification_id >= %s" if inclusive_of_start else "e.notification_id > %s"))
        if stop:
            where.append(SQL("e.notification_id <= %s"))
        if topics:
            where.append(SQL("e.topic = ANY(%s)"))
        statement = self.horizon + SQL(
            "SELECT e.originator_id, e.originator_version, e.topic, e.state, e.notification_id"
            " FROM {t} AS e WHERE {where} ORDER BY e.notification_id LIMIT %s"
        ).format(t=self.table, where=SQL(" AND ").join(where))
        return statement.as_bytes(None)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def max_notification_id(self) -> int | None:
        """The last position a reader can see now: never one with an unfinished append below."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.head_statement, prepare=True)
            row = curs.fetchone()
            return row["max"] if row else None

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def stream_version(self, stream: UUID) -> int:
        """A stream's last version (0 when empty), from the primary key's index alone."""
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            curs.execute(self.stream_version_statement, (stream,), prepare=True)
            row = curs.fetchone()
            return int(row[0]) if row and row[0] is not None else 0

    def max_written_id(self) -> int | None:
        """The last position taken by any committed append, visible to readers or not yet."""
        return super().max_notification_id()


def _release(conn: psycopg.Connection[Any]) -> None:
    """After a failed append: end the transaction and drop a lock the failure may have left held
    (a broken connection needs neither: the server ends the session and the pool discards it)."""
    if conn.closed:
        return
    try:
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            conn.execute("ROLLBACK")
        conn.execute("SELECT pg_advisory_unlock_all()")
    except psycopg.Error:
        conn.close()
