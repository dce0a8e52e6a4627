"""The log in and out of a store: NDJSON, one stored event a line, in the order of the log.

A line is ``{"position", "originator_id", "originator_version", "topic", "state"}``, where
``state`` is the stored envelope (``data``, ``meta``, ``at``) as the JSON object it is stored as.
An export streams the log in batches up to the position it started at, so it never holds the
log in memory and a log still being written exports as a consistent prefix.

An import fills an empty store in one transaction, so a failed import leaves it empty: every
line is decoded as the code reads it (an old event version through its upcasters) and stored
as the current version, at its original position, so that positions the clients and the views
hold (write positions, audit entry ids) mean the same in the new store. It holds the lock every
append takes (PostgreSQL) or the database's write lock (SQLite) throughout, and refuses a store
that holds any event.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from itertools import islice
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import Notification, StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg.sql import SQL

from events import Meta, from_payload
from infra.eventstore import EventStore
from infra.eventstore import _encode as encode  # the log's one encoding of an envelope
from infra.pg_recorder import OrderedCommitRecorder

BATCH = 1000
Progress = Callable[[int, int], None]

__all__ = ["ImportRefused", "export_log", "import_log"]


class ImportRefused(Exception):
    """The store is not empty, or a line is not an event of this log."""


def export_log(store: EventStore, write: Callable[[str], Any], progress: Progress | None = None) -> int:
    """Write every event up to the log's current head; returns how many were written."""
    head, after, count = store.head(), 0, 0
    while after < head:
        notes = store.read_raw(after, BATCH, stop=head)
        if not notes:
            break
        write("".join(_line(n) for n in notes))
        after, count = notes[-1].id, count + len(notes)
        if progress:
            progress(after, head)
    return count


def _line(note: Notification) -> str:
    record = {
        "position": note.id,
        "originator_id": str(note.originator_id),
        "originator_version": note.originator_version,
        "topic": note.topic,
        "state": json.loads(note.state),
    }
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


def import_log(store: EventStore, lines: Iterable[str], progress: Callable[[int], None] | None = None) -> int:
    """Append every line's event at its position into the empty ``store``; returns the count.
    ``progress`` is told each batch's last position."""
    transaction = _writer(store)
    count = last = 0
    with transaction() as tx:
        if tx.head():
            raise ImportRefused(f"the event store is not empty (its log reaches position {tx.head()})")
        records = _records(lines)
        while batch := list(islice(records, BATCH)):
            tx.insert(batch)
            count, last = count + len(batch), batch[-1][0]
            if progress:
                progress(last)
        tx.finish(last)
    return count


Record = tuple[int, StoredEvent]


def _records(lines: Iterable[str]) -> Iterator[Record]:
    """Each non-blank line as (position, the event as the current code stores it)."""
    last = 0
    for number, text in enumerate(lines, 1):
        if not text.strip():
            continue
        try:
            position, stored = _record(json.loads(text))
        except (ValueError, TypeError, KeyError, LookupError) as exc:
            raise ImportRefused(f"line {number}: {type(exc).__name__}: {exc}") from None
        if position <= last:
            raise ImportRefused(f"line {number}: position {position} after {last}: not in log order")
        last = position
        yield position, stored


def _record(line: dict[str, Any]) -> Record:
    position, version, state = line["position"], line["originator_version"], line["state"]
    if not (_whole(position) and position > 0 and _whole(version) and version > 0):
        raise ValueError("position and originator_version must be positive integers")
    event = from_payload(str(line["topic"]), dict(state["data"]))  # upcast to the current version
    at = datetime.fromisoformat(state["at"])
    if at.tzinfo is None:
        raise ValueError(f"time without a zone: {state['at']}")
    return position, encode(
        UUID(line["originator_id"]), version, event, Meta.from_dict(state.get("meta") or {}), at
    )


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _Tx(Protocol):
    def head(self) -> int: ...

    def insert(self, records: Sequence[Record]) -> None: ...

    def finish(self, last: int) -> None: ...


def _writer(store: EventStore) -> Callable[[], AbstractContextManager[_Tx]]:
    recorder = store.recorder
    if isinstance(recorder, OrderedCommitRecorder):
        return lambda: _postgres(recorder)
    if isinstance(recorder, SQLiteApplicationRecorder):
        return lambda: _sqlite(recorder)
    raise ImportRefused(f"cannot import into a {type(recorder).__name__}")


@contextmanager
def _sqlite(recorder: SQLiteApplicationRecorder) -> Iterator[_Tx]:
    with recorder.datastore.transaction(commit=True) as cursor:  # rolled back on any error
        yield _SqliteTx(cursor, recorder.events_table_name)


class _SqliteTx:
    """Positions are SQLite's rowids, which the library reads as notification ids."""

    def __init__(self, cursor: Any, table: str) -> None:
        self.cursor, self.table = cursor, table

    def head(self) -> int:
        self.cursor.execute(f"SELECT MAX(rowid) FROM {self.table}")
        return int(self.cursor.fetchone()[0] or 0)

    def insert(self, records: Sequence[Record]) -> None:
        self.cursor.executemany(
            f"INSERT INTO {self.table} (rowid, originator_id, originator_version, topic, state) "
            "VALUES (?, ?, ?, ?, ?)",
            [(p, UUID(str(e.originator_id)).hex, e.originator_version, e.topic, e.state) for p, e in records],
        )

    def finish(self, last: int) -> None:
        """Nothing to do: the next append takes the rowid after the largest."""


@contextmanager
def _postgres(recorder: OrderedCommitRecorder) -> Iterator[_Tx]:
    with recorder.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as cursor:
        # The lock each append takes to reserve its positions: none can append meanwhile.
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", (recorder.lock_key,))
        yield _PostgresTx(cursor, recorder)


class _PostgresTx:
    def __init__(self, cursor: Any, recorder: OrderedCommitRecorder) -> None:
        self.cursor, self.recorder = cursor, recorder

    def head(self) -> int:
        self.cursor.execute(SQL("SELECT max(notification_id) AS head FROM {}").format(self.recorder.table))
        return int(self.cursor.fetchone()["head"] or 0)

    def insert(self, records: Sequence[Record]) -> None:
        self.cursor.executemany(
            SQL(
                "INSERT INTO {} (originator_id, originator_version, topic, state, notification_id) "
                "VALUES (%s, %s, %s, %s, %s)"
            ).format(self.recorder.table),
            [(e.originator_id, e.originator_version, e.topic, e.state, p) for p, e in records],
        )

    def finish(self, last: int) -> None:
        """The next append's positions follow the last imported; workers are woken."""
        if last:
            schema, table = self.recorder.datastore.schema, self.recorder.events_table_name
            sequence = f'"{schema}"."{table}_notification_id_seq"'
            self.cursor.execute("SELECT setval(%s::regclass, %s)", (sequence, last))
            self.cursor.execute(self.recorder.notify_statement)
