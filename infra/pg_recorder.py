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
  the final log: no event is skipped, reordered or seen twice.

Everything else (optimistic concurrency, notifications, topic filters, LISTEN/NOTIFY) is the
library's. One append is one network round trip (a pipeline: BEGIN, lock timeout, the locked
statement, INSERT, NOTIFY, COMMIT, one sync). The decision and its figures: docs/architecture.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, TypeVar

import psycopg
from eventsourcing.persistence import InterfaceError, Notification, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.utils import retry
from psycopg.rows import RowFactory, dict_row, tuple_row
from psycopg.sql import SQL, Composed, Identifier, Literal

__all__ = ["OrderedCommitRecorder"]

MAX_POSITION = 2**63 - 1
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
        self.reserve_statement = SQL(
            # MATERIALIZED keeps the order: lock, transaction id, positions, unlock.
            "WITH l AS MATERIALIZED (SELECT pg_advisory_lock(%(key)s) AS locked),"
            " x AS MATERIALIZED (SELECT pg_current_xact_id() AS xid FROM l),"
            " s AS MATERIALIZED (SELECT setval({seq}, nextval({seq}) + %(n)s - 1) AS last, xid FROM x)"
            " SELECT last, xid, pg_advisory_unlock(%(key)s) AS unlocked FROM s"
        ).format(seq=sequence)
        self.ordered_insert_statement = SQL(
            "INSERT INTO {table} (originator_id, originator_version, topic, state,"
            " notification_id, tx_id)"
            " SELECT e.originator_id, e.originator_version, e.topic, e.state,"
            " currval({seq}) - %(n)s + e.ord, pg_current_xact_id()"
            " FROM unnest(%(events)s::{schema}.{type}[]) WITH ORDINALITY"
            " AS e(originator_id, originator_version, topic, state, ord)"
            " RETURNING notification_id"
        ).format(
            table=self.table,
            seq=sequence,
            schema=Identifier(schema),
            type=Identifier(self.stored_event_type_name),
        )
        self.set_lock_timeout = SQL("SET LOCAL lock_timeout = '{}s'").format(self.datastore.lock_timeout)
        self.notify_statement = SQL("NOTIFY {}").format(Identifier(self.channel_name))
        self.horizon = self._horizon()

    def _migration(self, table: str) -> list[Composed]:
        """Run by ``eventry migrate``: rows written before it were ordered by the table lock
        and precede every later one, so transaction id 0 stands for all of them."""
        return [
            SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS tx_id xid8 NOT NULL DEFAULT '0'").format(self.table),
            SQL("ALTER TABLE {} ALTER COLUMN tx_id SET DEFAULT pg_current_xact_id()").format(self.table),
            SQL("CREATE INDEX IF NOT EXISTS {} ON {} (tx_id, notification_id)").format(
                Identifier(f"{table}_tx_id_idx"), self.table
            ),
        ]

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
            " blocking AS (SELECT min(f.x) AS x FROM inflight AS f"
            "  WHERE {after_f} > COALESCE({before_f}, 0) + 1),"
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
        events = [
            self.construct_pg_stored_event(e.originator_id, e.originator_version, e.topic, e.state)
            for e in stored_events
        ]
        params = {"key": self.lock_key, "n": len(events), "events": events}
        with self.datastore.get_connection() as conn:
            try:
                return self._append(conn, params)
            except BaseException:
                _release(conn)
                raise

    def _append(self, conn: psycopg.Connection[Any], params: dict[str, Any]) -> list[int]:
        with conn.cursor() as curs, conn.cursor() as inserted:
            with conn.pipeline():  # one Sync, sent on exit: the only wait for the server
                curs.execute("BEGIN")
                curs.execute(self.set_lock_timeout)
                curs.execute(self.reserve_statement, params, prepare=True)
                inserted.execute(self.ordered_insert_statement, params, prepare=True)
                curs.execute(self.notify_statement)
                curs.execute("COMMIT")
            return [row["notification_id"] for row in inserted.fetchall()]

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

    def _page(self, statement: Composed, params: list[Any], rows: RowFactory[R]) -> list[R]:
        """A page of the log, read in order from the position index. Left to itself, the
        planner reads a table autovacuum has not analyzed yet (right after a bulk append or an
        import) as the whole rest of the log, then sorts it for the page: each page of a
        rebuild cost as much as reading the log to its end. Sorting is turned off for the
        read's own transaction (``SET LOCAL``: it never outlives it), which leaves the index
        walk, the plan it takes once the statistics are there. One round trip, as before."""
        with self.datastore.get_connection() as conn:
            try:
                with conn.cursor(row_factory=rows) as curs, conn.cursor() as control:
                    with conn.pipeline():  # one Sync, sent on exit
                        control.execute("BEGIN")
                        control.execute("SET LOCAL enable_sort = off")
                        curs.execute(statement, params, prepare=True)
                        control.execute("COMMIT")
                    return curs.fetchall()
            except BaseException:
                _release(conn)
                raise

    def _notifications(
        self, start: int | None, limit: int, stop: int | None, topics: Sequence[str], inclusive_of_start: bool
    ) -> tuple[Composed, list[Any]]:
        where = [SQL("e.notification_id <= (SELECT id FROM horizon)")]
        params: list[Any] = []
        if start is not None:
            where.append(SQL("e.notification_id >= %s" if inclusive_of_start else "e.notification_id > %s"))
            params.append(start)
        if stop is not None:
            where.append(SQL("e.notification_id <= %s"))
            params.append(stop)
        if topics:
            where.append(SQL("e.topic = ANY(%s)"))
            params.append(list(topics))
        params.append(limit)
        statement = self.horizon + SQL(
            "SELECT e.originator_id, e.originator_version, e.topic, e.state, e.notification_id"
            " FROM {t} AS e WHERE {where} ORDER BY e.notification_id LIMIT %s"
        ).format(t=self.table, where=SQL(" AND ").join(where))
        return statement, params

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def max_notification_id(self) -> int | None:
        """The last position a reader can see now: never one with an unfinished append below."""
        statement = self.horizon + SQL(
            "SELECT max(e.notification_id) AS max FROM {t} AS e"
            " WHERE e.notification_id <= (SELECT id FROM horizon)"
        ).format(t=self.table)
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, prepare=True)
            row = curs.fetchone()
            return row["max"] if row else None

    def max_written_id(self) -> int | None:
        """The last position taken by any committed append, visible to readers or not yet."""
        return super().max_notification_id()


def _release(conn: psycopg.Connection[Any]) -> None:
    """After a failed append or read: end the transaction and drop a lock the failure may have
    left held (a broken connection needs neither: the server ends the session and the pool
    discards it)."""
    if conn.closed:
        return
    try:
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            conn.execute("ROLLBACK")
        conn.execute("SELECT pg_advisory_unlock_all()")
    except psycopg.Error:
        conn.close()
