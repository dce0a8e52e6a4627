"""The projection engine: catch-up in batches, status, rebuild into a new generation, waits.

Each projection has rows in ``projection_state``: one per generation of its tables, exactly
one of them active. A batch applies many events and moves the position in one transaction,
so a view and its position can never disagree, and a killed worker resumes where the last
committed batch ended. A rebuild fills generation N+1 while N serves, then swaps.

An event a handler raises on never stops a view: the batch is redone with a savepoint per
event, the failing event and the later ones of its stream are parked (``infra.parking``) and
everything else is applied. A read never meets a dropped generation: on PostgreSQL a reader
holds a shared advisory lock on its projection while it resolves and reads the generation,
and a generation is dropped only under the exclusive lock (SQLite's read snapshot does the same).
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import eventsourcing.persistence as es
import psycopg
import psycopg_pool
import redis

from events import Recorded
from infra import parking, telemetry
from infra.collector import paused as _collector_paused
from infra.db import Database, Tx
from infra.eventstore import EventStore
from infra.parking import Parked
from infra.progress import ProgressSignal
from infra.replica import Replica
from infra.telemetry import log
from projections import PROJECTIONS, Projection, View

LOGGER = logging.getLogger("eventry.engine")

STATE_DDL = (
    "CREATE TABLE IF NOT EXISTS projection_state (name TEXT NOT NULL, generation INTEGER NOT NULL, "
    "position BIGINT NOT NULL, active INTEGER NOT NULL, updated_at TEXT NOT NULL, "
    "schema TEXT NOT NULL DEFAULT '', PRIMARY KEY (name, generation))"
)
# A rebuild's batches hold this many catch-up batches' worth of events.
REBUILD_BATCHES = 10
# SQLite errors that say the database is unavailable, not that an event is bad.
SQLITE_OUTAGES = ("locked", "busy", "no such table", "disk", "unable to open", "readonly", "interrupt")

__all__ = ["Engine", "Parked", "Status", "UnknownProjection", "advisory_key"]


@dataclass(frozen=True)
class Status:
    name: str
    generation: int
    position: int
    head: int
    rebuilding: int | None

    @property
    def lag(self) -> int:
        return max(self.head - self.position, 0)


@dataclass(frozen=True)
class Undecodable:
    """A stored event the code cannot decode: parked like one a handler raises on."""

    stream: UUID
    position: int
    topic: str
    error: Exception


Record = Recorded | Undecodable


@dataclass(frozen=True)
class Read:
    """A batch read from the log: the events after position ``after`` that a view folds, the
    log covered up to ``end`` (a view that applied them is at ``end``)."""

    after: int
    records: list[Record]
    end: int


class UnknownProjection(KeyError):
    pass


def advisory_key(*parts: str) -> int:
    """A PostgreSQL advisory-lock key (signed 64 bits) for a scope such as (schema, purpose)."""
    digest = hashlib.sha1("\0".join(("eventry", *parts)).encode(), usedforsecurity=False).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def transient(exc: BaseException) -> bool:
    """True when the database or Redis failed, not the event: the batch is retried whole."""
    if isinstance(exc, psycopg.errors.UndefinedTable):  # a view not migrated yet
        return True
    if isinstance(exc, sqlite3.OperationalError):
        return any(word in str(exc).lower() for word in SQLITE_OUTAGES)
    return isinstance(
        exc,
        (
            psycopg.OperationalError,
            psycopg.InterfaceError,
            psycopg_pool.PoolTimeout,
            es.OperationalError,
            es.InterfaceError,
            redis.ConnectionError,
            redis.TimeoutError,
            ConnectionError,
        ),
    )


class Engine:
    def __init__(
        self,
        db: Database,
        store: EventStore,
        projections: tuple[type[Projection], ...] = PROJECTIONS,
        batch_size: int = 500,
        effects: dict[str, Callable[[list[Any]], None]] | None = None,
        repeat_after_commit: frozenset[str] = frozenset(),
        retry_base: float = 1.0,
        retry_cap: float = 300.0,
        replica: Replica | None = None,
        progress: ProgressSignal | None = None,
    ) -> None:
        self.db = db
        self.store = store
        self.batch_size = batch_size
        self.projections = {p.name: p() for p in projections}
        # Performed inside the batch's transaction, before it commits: a failure rolls the
        # batch back and it is retried, so an effect is never lost (effects are idempotent).
        self.effects = effects or {}
        # Projections whose effects are overwrites (cache writes), safe and useful to repeat.
        self.repeat_after_commit = repeat_after_commit
        # A parked stream's head is retried after retry_base seconds, doubling up to retry_cap.
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self._reached: dict[str, int] = {}  # the highest position seen per view, this process
        self._schema: str | None = None
        # View reads may go to a streaming replica (infra/replica.py). Per thread: the position
        # each view was promised to show (by ``wait``/``reached``), and who served the last read.
        self.replica = replica
        self._local = threading.local()
        # Wakes waits when a worker says the views moved (infra/progress.py); between words a
        # wait looks again after the first delay, doubling up to the second.
        self.progress = progress or ProgressSignal()
        self.poll_delays = (0.001, 0.02)
        self._topic_cache: dict[str, tuple[str, ...]] = {}

    def projection(self, name: str) -> Projection:
        try:
            return self.projections[name]
        except KeyError:
            raise UnknownProjection(name) from None

    def _topics(self, name: str) -> tuple[str, ...]:
        """The topics ``name`` folds (computed once: every round asks for them)."""
        topics = self._topic_cache.get(name)
        if topics is None:
            topics = self._topic_cache[name] = self.projection(name).topics()
        return topics

    def tables(self, name: str, generation: int) -> dict[str, str]:
        return {t: f"v_{name}_g{generation}_{t}" for t in self.projection(name).tables}

    def migrate(self, progress: Callable[[str, int, int], None] | None = None) -> list[str]:
        """Create missing views; rebuild those whose tables or code version changed.
        Returns the names rebuilt."""
        outdated = []
        with self.db.transaction() as tx:
            tx.execute(STATE_DDL)
            for statement in parking.DDL:
                tx.execute(statement)
            for name, projection in self.projections.items():
                rows = tx.execute(
                    "SELECT generation, schema FROM projection_state WHERE name = %s AND active = 1",
                    (name,),
                )
                if rows and rows[0][1] != projection.fingerprint():
                    outdated.append(name)
                    continue
                generation = rows[0][0] if rows else 1
                for statement in projection.ddl(self.tables(name, generation)):
                    tx.execute(statement)
                if not rows:
                    tx.execute(
                        "INSERT INTO projection_state (name, generation, position, active, "
                        "updated_at, schema) VALUES (%s, 1, 0, 1, %s, %s)",
                        (name, _now(), projection.fingerprint()),
                    )
        for name in outdated:
            self.rebuild(name, functools.partial(progress, name) if progress else None)
        return outdated

    def _lock(self, tx: Tx, name: str, generation: int | None = None) -> tuple[int, int]:
        """The (generation, position) row, locked against other batches until commit."""
        lock = " FOR UPDATE" if tx.dialect == "postgres" else ""
        if generation is None:
            rows = tx.execute(
                f"SELECT generation, position FROM projection_state WHERE name = %s AND active = 1{lock}",
                (name,),
            )
        else:
            rows = tx.execute(
                "SELECT generation, position FROM projection_state "
                f"WHERE name = %s AND generation = %s{lock}",
                (name, generation),
            )
        if not rows:
            raise UnknownProjection(f"{name} has no state: run `eventry migrate` first")
        return rows[0][0], rows[0][1]

    # -- applying events ------------------------------------------------------------------

    def _advance(self, *args: Any, **kwargs: Any) -> tuple[int, int]:
        """``_batch`` with the cyclic garbage collector paused: a batch makes tens of thousands
        of short-lived objects (decoded events, rows), all freed by reference counting, and each
        collection they trigger would scan the process's whole heap (it made decoding the log
        half again slower)."""
        with _collector_paused():
            return self._batch(*args, **kwargs)

    def _batch(
        self,
        tx: Tx,
        name: str,
        generation: int,
        position: int,
        live: bool = True,
        performed: list[Any] | None = None,
        head: int | None = None,
        read: Read | None = None,
    ) -> tuple[int, int]:
        """Apply one batch of up to a batch's events after ``position`` (up to ``head``, the
        log's head when not given) to ``generation``; returns the new position and how many
        events it parked. ``read``: that batch, read already (its ``after`` is ``position``)."""
        if read is None:
            head = self.store.head() if head is None else head
            if head <= position:
                return position, 0
            read = self._read_batch(position, self.batch_size, self._topics(name), head)
        blocked = parking.streams(tx, name, generation)
        with self._applied(tx, name, generation, read, blocked, live, performed) as parked:
            tx.write(
                "UPDATE projection_state SET position = %s, updated_at = %s "
                "WHERE name = %s AND generation = %s",
                (read.end, _now(), name, generation),
            )
        return read.end, parked

    @contextmanager
    def _applied(
        self,
        tx: Tx,
        name: str,
        generation: int,
        read: Read,
        blocked: set[str],
        live: bool,
        performed: list[Any] | None,
        guarded: bool = True,
    ) -> Iterator[int]:
        """Fold ``read`` into ``generation`` of ``name``; what the block writes (the position)
        travels in the round trip that ends it. Yields how many events were parked: those of
        ``blocked`` streams, and (``guarded``) each that a handler raised on. Unguarded, a
        handler's error is raised: the caller rolls back and redoes the batch guarded."""
        records = read.records
        view = View(tx, self.tables(name, generation))
        parked: list[tuple[Record, str | None]] = (
            [(r, None) for r in records if str(r.stream) in blocked] if blocked else []
        )
        folded = [r for r in records if str(r.stream) not in blocked] if blocked else records
        if guarded:
            view, parked = self._guarded_fold(tx, name, view, records, folded, parked, blocked)
        else:
            with tx.pipelined():
                self._fold(self.projection(name), view, folded)
        with tx.pipelined():
            if guarded:
                tx.write("RELEASE SAVEPOINT eventry_batch")
            if parked:
                self._park(tx, name, generation, parked)
            if live:
                self._perform(name, view)
                if performed is not None:
                    performed.extend(view.effects)
            yield len(parked)

    def _guarded_fold(
        self,
        tx: Tx,
        name: str,
        view: View,
        records: list[Record],
        folded: list[Record],
        parked: list[tuple[Record, str | None]],
        blocked: set[str],
    ) -> tuple[View, list[tuple[Record, str | None]]]:
        """The fast path: the whole batch at once in a savepoint, its writes pipelined. Only
        when a handler (or a write it queued) fails is it redone event by event, so a bad
        event costs its batch a replay and nothing else. Returns the view folded into and
        what to park."""
        try:
            with tx.pipelined():
                tx.write("SAVEPOINT eventry_batch")
                self._fold(self.projection(name), view, folded)
            return view, parked
        except Exception as exc:
            if transient(exc):
                raise
            tx.execute("ROLLBACK TO SAVEPOINT eventry_batch")
            view = View(tx, view.tables)
            return view, self._apply_each(tx, name, view, records, set(blocked))

    @staticmethod
    def _fold(projection: Projection, view: View, records: Sequence[Record]) -> None:
        """A batch in one go (an undecodable event sends it the event-by-event way)."""
        decoded = []
        for record in records:
            if isinstance(record, Undecodable):
                raise record.error
            decoded.append(record)
        projection.fold(view, decoded)

    def _apply_each(
        self, tx: Tx, name: str, view: View, records: Sequence[Record], blocked: set[str]
    ) -> list[tuple[Record, str | None]]:
        """Apply ``records`` one savepoint each; returns what to park (error None: waiting)."""
        parked: list[tuple[Record, str | None]] = []
        for record in records:
            stream = str(record.stream)
            if stream in blocked:
                parked.append((record, None))
                continue
            error = self._try(tx, name, view, record)
            if error is not None:
                parked.append((record, error))
                blocked.add(stream)
        return parked

    def _try(self, tx: Tx, name: str, view: View, record: Record) -> str | None:
        """Apply one event in a savepoint; on a handler error undo it (its effects too) and
        return the error's text. Database and Redis outages propagate."""
        mark = len(view.effects)
        tx.execute("SAVEPOINT eventry_event")
        try:
            self._fold(self.projection(name), view, [record])  # its set-wise writes are its own
        except Exception as exc:
            if transient(exc):
                raise
            tx.execute("ROLLBACK TO SAVEPOINT eventry_event")
            tx.execute("RELEASE SAVEPOINT eventry_event")
            del view.effects[mark:]
            view.discard()  # what the event collected is undone with it
            telemetry.PROJECTION_HANDLER_FAILURES.labels(name).inc()
            log(
                LOGGER,
                logging.ERROR,
                "projection handler failed; event parked",
                projection=name,
                position=record.position,
                stream=str(record.stream),
                topic=_topic(record),
                error=repr(exc),
            )
            return parking.describe(exc)
        tx.execute("RELEASE SAVEPOINT eventry_event")
        return None

    def _park(self, tx: Tx, name: str, generation: int, parked: list[tuple[Record, str | None]]) -> None:
        rows: list[tuple[int, str, str, str | None]] = []
        for record, error in parked:
            assert record.position is not None
            rows.append((record.position, str(record.stream), _topic(record), error))
        parking.park(
            tx, name, generation, rows, parking.backoff(1, self.retry_base, self.retry_cap), time.time()
        )

    def _read(self, after: int, limit: int, topics: Sequence[str], stop: int) -> list[Record]:
        """A batch of the log; an event that cannot be decoded comes back as ``Undecodable``."""
        try:
            return list(self.store.read_log(after, limit, topics, stop=stop))
        except Exception as exc:
            if transient(exc):
                raise
        notes = self.store.recorder.select_notifications(
            after, limit, stop=stop, topics=list(topics), inclusive_of_start=False
        )
        return [self._read_one(n.id, n.originator_id, n.topic) for n in notes]

    def _read_batch(self, after: int, limit: int, topics: Sequence[str], head: int) -> Read:
        """Up to ``limit`` events of ``topics`` after ``after``, and how far they cover the log:
        to the last one when the limit cut the read short, else to ``head``."""
        records = self._read(after, limit, topics, stop=head)
        end = records[-1].position if len(records) == limit else head
        assert end is not None
        return Read(after, records, end)

    def _read_one(self, position: int, stream: Any, topic: str) -> Record:
        try:
            [record] = self.store.read_log(position - 1, 1, stop=position)
        except Exception as exc:
            if transient(exc):
                raise
            return Undecodable(
                stream if isinstance(stream, UUID) else UUID(str(stream)), position, topic, exc
            )
        return record

    def catch_up(self, name: str, head: int | None = None, read: Read | None = None) -> bool:
        """One batch for the active generation (up to ``head``, the log's head when not
        given; ``read``: the batch, read already for the position it names); True if the
        position moved."""
        performed: list[Any] = []
        with self.db.transaction() as tx:
            generation, position = self._lock(tx, name)
            given = read if read is not None and read.after == position else None  # else moved
            new_position, parked = self._advance(
                tx, name, generation, position, performed=performed, head=head, read=given
            )
        self._moved_to(name, new_position)
        self._repeat(name, performed)
        if parked:
            self._refresh_parked()
        return new_position > position

    def _moved_to(self, name: str, position: int) -> None:
        self._reached[name] = max(self._reached.get(name, 0), position)
        telemetry.PROJECTION_POSITION.labels(name).set(position)

    def _repeat(self, name: str, performed: list[Any]) -> None:
        if performed and name in self.repeat_after_commit:
            # Again after commit: a cache refilled from the view between the first write and the
            # commit (after a flush) held the old state; this overwrites it. Best effort: the
            # first write, inside the batch, is the one that must not be lost.
            try:
                self.effects[name](performed)
            except Exception as exc:
                log(LOGGER, logging.WARNING, "post-commit effect failed", projection=name, error=repr(exc))

    def catch_up_all(
        self,
        names: list[str] | None = None,
        until: int = 0,
        timeout: float = 5.0,
        moved: Callable[[], None] | None = None,
    ) -> int:
        """Run rounds until every named projection is at the head; returns batches run.
        Each round reads the log's head once (an idle round is that one query, two when a view
        may have moved in another process) and takes one batch for each view behind it
        (``_round``); ``moved`` is called after each round that moved a view. With ``until`` (a
        position already written, e.g. the caller's own append) it also waits, up to
        ``timeout`` seconds, for the head to reach it: readers stop below an append still in
        flight, and an aborted one's hole while a transaction that began beside it is open."""
        names = names or list(self.projections)
        deadline = time.monotonic() + timeout
        batches = 0
        while True:
            head = self.store.head()
            behind = self._behind(names, head, look=not batches)
            if not behind:
                if head >= until or time.monotonic() > deadline:
                    return batches
                time.sleep(0.01)
                continue
            batches += self._round(behind, head)
            if moved is not None:
                moved()

    def _behind(self, names: list[str], head: int, look: bool) -> dict[str, int]:
        """The named views not yet at ``head``, with their positions: no query when this
        process saw them all there; else read when ``look`` (a catch-up's first round), or as
        this process last saw them. Another process may have moved a view further since: a
        batch finds that out when it locks the view's row and reads again, and views given
        nothing only move forward, so a position seen here is never applied twice."""
        if all(self._reached.get(name, 0) >= head for name in names):
            return {}
        if look or any(name not in self._reached for name in names):
            self.positions(names)
        return {name: at for name in names if (at := self._reached.get(name, 0)) < head}

    def _round(self, behind: dict[str, int], head: int) -> int:
        """One batch for each view in ``behind`` (name -> position). The log is read once for
        views at nearby positions (from the lowest, the topics of them all); each gets the
        events it folds. Views given none move to the end of what was read in one statement,
        with no transaction of their own; the others fold theirs, each in its own transaction.
        Views that the read did not reach (far ahead of the lowest) are read for next, from
        their own lowest position: a view far behind holds no other back."""
        batches = 0
        while behind:
            after = min(behind.values())
            topics = sorted({t for name in behind for t in self._topics(name)})
            read = self._read_batch(after, self.batch_size, topics, head)
            reached = {name: at for name, at in behind.items() if at < read.end}
            behind = {name: at for name, at in behind.items() if at >= read.end}
            given = {name: self._given(name, at, read) for name, at in reached.items()}
            idle = [name for name, part in given.items() if not part.records]
            busy = {name: part for name, part in given.items() if part.records}
            try:
                moved = self._fold_together(busy, idle, read.end)
            except Exception as exc:
                # Alone, each view's failure is its own (a Redis outage in relay_configs' cache
                # writes, a view not migrated): the round is redone view by view.
                log(LOGGER, logging.WARNING, "round redone view by view", error=repr(exc))
                if idle:
                    self._skip(idle, read.end)
                moved = busy
            self._fold_each(moved, head)
            batches += len(reached)
        return batches

    def _fold_together(self, busy: dict[str, Read], idle: list[str], end: int) -> dict[str, Read]:
        """The round's batches in one transaction: the busy views' state rows locked and their
        parked streams read in one statement, each view folded, every position moved in one
        statement. No savepoints: a handler's error rolls the round back, and the caller redoes
        it view by view, where a bad event is parked. Returns the views another process moved
        meanwhile (each takes a batch of its own after)."""
        performed: dict[str, list[Any]] = {name: [] for name in busy}
        parked = 0
        with _collector_paused(), self.db.transaction() as tx, tx.pipelined():
            states = self._lock_many(tx, list(busy))
            moved = {name for name, read in busy.items() if states[name][1] != read.after}
            for name, read in busy.items():
                if name not in moved:
                    generation, _, blocked = states[name]
                    with self._applied(
                        tx, name, generation, read, blocked, True, performed[name], guarded=False
                    ) as n:
                        parked += n
            self._move(tx, [name for name in [*busy, *idle] if name not in moved], end)
        for name in [*busy, *idle]:
            if name not in moved:
                self._moved_to(name, end)
        for name, effects in performed.items():
            self._repeat(name, effects)
        if parked:
            self._refresh_parked()
        return {name: busy[name] for name in moved}

    def _lock_many(self, tx: Tx, names: list[str]) -> dict[str, tuple[int, int, set[str]]]:
        """Per view: its active generation and position, locked against other batches until
        commit (in name order: two rounds never wait on each other), and its parked streams."""
        if not names:
            return {}
        lock = " FOR UPDATE OF s" if tx.dialect == "postgres" else ""
        rows = tx.execute(
            "SELECT s.name, s.generation, s.position, p.stream FROM projection_state s "
            "LEFT JOIN (SELECT DISTINCT name, generation, stream FROM projection_parked) p "
            "ON p.name = s.name AND p.generation = s.generation "
            f"WHERE s.active = 1 AND s.name IN ({', '.join(['%s'] * len(names))}) ORDER BY s.name{lock}",
            sorted(names),
        )
        states: dict[str, tuple[int, int, set[str]]] = {}
        for name, generation, position, stream in rows:
            state = states.setdefault(name, (generation, position, set()))
            if stream is not None:
                state[2].add(stream)
        missing = set(names) - states.keys()
        if missing:
            raise UnknownProjection(f"{sorted(missing)} have no state: run `eventry migrate` first")
        return states

    def _given(self, name: str, at: int, read: Read) -> Read:
        """The part of a shared ``read`` that view ``name``, at position ``at``, folds."""
        projection = self.projection(name)
        topics = None
        records = []
        for record in read.records:
            assert record.position is not None
            if record.position <= at:
                continue
            if isinstance(record, Undecodable):
                topics = topics or set(self._topics(name))
                if record.topic not in topics:
                    continue
            elif not projection.folds(record.event):
                continue
            records.append(record)
        return Read(at, records, read.end)

    def _skip(self, names: list[str], end: int) -> None:
        """Move views that have nothing to fold up to ``end``, in a transaction of their own."""
        with self.db.transaction() as tx:
            self._move(tx, names, end)
        for name in names:
            self._moved_to(name, end)

    @staticmethod
    def _move(tx: Tx, names: list[str], end: int) -> None:
        """Move views to ``end``, never back (another process may have moved one further).
        Views that fold nothing below ``end`` need no lock for it: whatever a batch elsewhere
        applies, none of them folds an event below ``end`` that it has not applied."""
        if names:
            tx.write(
                "UPDATE projection_state SET position = CASE WHEN position < %s THEN %s ELSE position "
                f"END, updated_at = %s WHERE active = 1 AND name IN ({', '.join(['%s'] * len(names))})",
                (end, end, _now(), *sorted(names)),
            )

    def _fold_each(self, busy: dict[str, Read], head: int) -> None:
        """Each view's batch in its own transaction. One view's failure holds no other back:
        the first error is raised once every batch has ended. (Folding them in parallel threads
        was tried: it cost a fifth more CPU per write and saved nothing measurable, even on a
        round of 10,000 commits, where one view does nearly all the work.)"""
        errors = [_error_of(self.catch_up, name, head, read) for name, read in busy.items()]
        first = next((e for e in errors if e is not None), None)
        if first is not None:
            raise first

    # -- parked events ----------------------------------------------------------------------

    def parked(self, name: str | None = None) -> list[Parked]:
        """Parked events, of every generation (a rebuild's too), by projection and position."""
        if name is not None:
            self.projection(name)
        with self.db.transaction(write=False) as tx:
            return parking.listing(tx, name)

    def retry(self, name: str) -> int:
        """Retry every parked stream of ``name``'s live generation now; returns events applied."""
        return self._retry(name, None)

    def retry_due(self, names: list[str] | None = None) -> int:
        """Retry the parked streams whose back-off has elapsed (the worker calls this)."""
        now = time.time()
        with self.db.transaction(write=False) as tx:
            due = parking.due(tx, now)
        wanted = set(names or self.projections)
        return sum(self._retry(name, now) for name in due if name in wanted and name in self.projections)

    def _retry(self, name: str, due_by: float | None) -> int:
        applied = 0
        with self.db.transaction() as tx:
            generation, _ = self._lock(tx, name)
            view = View(tx, self.tables(name, generation))
            for stream in parking.failed_streams(tx, name, generation, due_by):
                applied += self._retry_stream(tx, name, generation, view, stream)
            self._perform(name, view)
            performed = list(view.effects)
        self._repeat(name, performed)
        self._refresh_parked()
        if applied:
            log(LOGGER, logging.INFO, "parked events applied", projection=name, applied=applied)
        return applied

    def _retry_stream(self, tx: Tx, name: str, generation: int, view: View, stream: str) -> int:
        """Apply a parked stream's events in order, up to the first that still fails."""
        applied = 0
        for position, attempts in parking.stream_rows(tx, name, generation, stream):
            record = self._read_one(position, stream, "")
            error = self._try(tx, name, view, record)
            if error is not None:
                wait = parking.backoff(attempts + 1, self.retry_base, self.retry_cap)
                parking.failed_again(tx, name, generation, position, error, wait, time.time())
                break
            parking.unpark(tx, name, generation, position)
            applied += 1
        return applied

    def parked_counts(self) -> dict[str, tuple[int, int]]:
        """Per live view, ``(parked events, of which failed)``."""
        return self._refresh_parked()

    def _refresh_parked(self) -> dict[str, tuple[int, int]]:
        """Parked events per live view, into the gauge (none before `eventry migrate` made the table)."""
        try:
            with self.db.transaction(write=False) as tx:
                counts = parking.counts(tx)
        except (psycopg.errors.UndefinedTable, sqlite3.OperationalError) as exc:
            if isinstance(exc, sqlite3.OperationalError) and "no such table" not in str(exc):
                raise
            counts = {}
        for name in self.projections:
            telemetry.PROJECTION_PARKED.labels(name).set(counts.get(name, (0, 0))[0])
        return counts

    def readiness(self) -> list[str]:
        """Why the views cannot be trusted right now; empty when they can. Cheap: two queries."""
        try:
            with self.db.transaction(write=False) as tx:
                states = tx.execute("SELECT name, generation, schema FROM projection_state WHERE active = 1")
                counts = parking.counts(tx)
                existing = self._existing_tables(tx)
        except (psycopg.errors.UndefinedTable, sqlite3.OperationalError) as exc:
            if isinstance(exc, sqlite3.OperationalError) and "no such table" not in str(exc):
                raise
            return ["the views are not migrated: run `eventry migrate`"]
        reasons = []
        active = {name: (generation, shape) for name, generation, shape in states}
        for name, projection in self.projections.items():
            if name not in active:
                reasons.append(f"view {name} is missing: run `eventry migrate`")
            elif not set(self.tables(name, active[name][0]).values()) <= existing:
                reasons.append(f"view {name} is missing tables: run `eventry migrate`")
            elif active[name][1] != projection.fingerprint():
                reasons.append(f"view {name} is outdated (its code changed): run `eventry migrate`")
            if name in counts:
                total, failed = counts[name]
                reasons.append(
                    f"view {name} has {total} parked events ({failed} failed): "
                    "see `eventry projections errors`"
                )
        return reasons

    def _existing_tables(self, tx: Tx) -> set[str]:
        if tx.dialect == "postgres":
            rows = tx.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        else:
            rows = tx.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {r[0] for r in rows}

    # -- rebuild ----------------------------------------------------------------------------

    def rebuild(self, name: str, progress: Callable[[int, int], None] | None = None) -> int:
        """Replay the whole log into a new generation, then make it the active one. The cyclic
        collector is paused throughout (see ``_advance``): between batches too, and while the
        reader thread decodes the next batch as this one folds."""
        with _collector_paused():
            return self._rebuild(name, progress)

    def _rebuild(self, name: str, progress: Callable[[int, int], None] | None) -> int:
        projection, head = self.projection(name), self.store.head()
        with ThreadPoolExecutor(1, thread_name_prefix="eventry-replay") as reader:
            # The first batch is read while the new tables are made (two connections: creating
            # files and building empty indexes is the database's wait, not this process's).
            first = reader.submit(self._read_paused, 0, self.batch_size, self._topics(name), head)
            with self._unflushed() as tx:
                self._drop_inactive(tx, name)  # an unfinished rebuild's (none, as a rule)
                with tx.pipelined():  # the new tables in one round trip
                    active, _ = self._lock(tx, name)
                    new = active + 1
                    for statement in projection.ddl(self.tables(name, new)):
                        tx.write(statement)
                    tx.write(
                        "INSERT INTO projection_state (name, generation, position, active, "
                        "updated_at, schema) VALUES (%s, %s, 0, 0, %s, %s)",
                        (name, new, _now(), projection.fingerprint()),
                    )
            self._replay(name, new, head, progress, reader, first)
        with self.db.transaction() as tx:
            _, live_position = self._lock(tx, name)  # hold the live generation still meanwhile
            position = self._lock(tx, name, new)[1]
            while True:
                moved, _ = self._advance(tx, name, new, position, live=False)
                if moved == position:
                    break
                position = moved
            view = View(tx, self.tables(name, new))
            projection.activate(view, live_position)
            self._perform(name, view)
            tx.execute(
                "UPDATE projection_state SET active = 0 WHERE name = %s AND generation = %s",
                (name, active),
            )
            tx.execute(
                "UPDATE projection_state SET active = 1 WHERE name = %s AND generation = %s",
                (name, new),
            )
            parking.drop(tx, name, active)  # its parked events are the new generation's now
            # The old generation goes at once, under the lock that keeps readers out (see
            # ``read``): in this transaction when no read holds it (one commit, whose flush a
            # drop forces anyway), else right after, once reads that began before the swap
            # are done. Reads on a replica take no such lock: with one it stays until the
            # next rebuild.
            dropped = self.replica is None and self._drop_inactive(tx, name, wait=False)
        if self.replica is None and not dropped:
            with self._unflushed() as tx:
                self._drop_inactive(tx, name)
        self._refresh_parked()
        return new

    def _replay(
        self,
        name: str,
        generation: int,
        head: int,
        progress: Callable[[int, int], None] | None,
        reader: ThreadPoolExecutor,
        first: Future[Read],
    ) -> None:
        """The log up to ``head`` into ``generation``, in batches in their own transactions (the
        live view keeps serving), larger than catch-up's (a batch's fixed cost is paid less
        often); each batch is read and decoded by the ``reader`` thread while the one before is
        folded and written (the database works on one while this process works on the other).
        ``first``: the first batch's read (a catch-up batch's worth, so folding starts soon)."""
        topics, position, ahead = self._topics(name), 0, first
        limits = itertools.repeat(self.batch_size * REBUILD_BATCHES)
        while position < head:
            read = ahead.result()
            if read.end < head:
                ahead = reader.submit(self._read_paused, read.end, next(limits), topics, head)
            with self._unflushed() as tx:
                at = self._lock(tx, name, generation)[1]
                given = read if at == read.after else None  # moved by another process: read again
                position, _ = self._advance(tx, name, generation, at, live=False, head=head, read=given)
            if progress:
                progress(min(position, head), head)

    def _read_paused(self, after: int, limit: int, topics: Sequence[str], head: int) -> Read:
        with _collector_paused():
            return self._read_batch(after, limit, topics, head)

    @contextmanager
    def _unflushed(self) -> Iterator[Tx]:
        """A transaction of a rebuild other than its swap, whose commit does not wait for the
        log's flush to disk (PostgreSQL's ``synchronous_commit``, off for it alone; a flush is
        a few milliseconds a commit here). Nothing is lost that matters: a crash can only
        take an unfinished rebuild's batches, and a rebuild starts over; the swap commits
        normally, which flushes everything committed before it; a drop after it that a crash
        undid is done again by the next rebuild."""
        with self.db.transaction() as tx:
            if tx.dialect == "postgres":
                tx.write("SET LOCAL synchronous_commit = off")
            yield tx

    def _drop_inactive(self, tx: Tx, name: str, wait: bool = True) -> bool:
        """Drop the generations no longer served (and those of an unfinished rebuild); False
        when readers hold them and ``wait`` is off (nothing dropped)."""
        old = [g for (g,) in tx.execute(
            "SELECT generation FROM projection_state WHERE name = %s AND active = 0", (name,)
        )]  # fmt: skip
        if old and tx.dialect == "postgres":
            # Try, never wait in the queue: a waiting exclusive request would hold up new
            # readers (and a thread reading the same view twice would wait on itself).
            key = self._reader_key(tx, name)
            while not tx.execute("SELECT pg_try_advisory_xact_lock(%s)", (key,))[0][0]:
                if not wait:
                    return False
                time.sleep(0.005)
        for generation in old:
            self._drop(tx, name, generation)
        return True

    def _perform(self, name: str, view: View) -> None:
        if view.effects and name in self.effects:
            self.effects[name](view.effects)

    def _drop(self, tx: Tx, name: str, generation: int) -> None:
        tx.execute("DELETE FROM projection_state WHERE name = %s AND generation = %s", (name, generation))
        parking.drop(tx, name, generation)
        for table in self.tables(name, generation).values():
            tx.execute(f"DROP TABLE IF EXISTS {table}")

    def _reader_key(self, tx: Tx, name: str) -> int:
        if self._schema is None:
            self._schema = str(tx.execute("SELECT current_schema()")[0][0])
        return advisory_key(self._schema, "view", name)

    # -- reads ------------------------------------------------------------------------------

    def _reads_from(self, name: str) -> Database:
        """The replica while it is usable and shows what this thread's waits promised for
        ``name``; else the primary, whose views are never behind the replica's."""
        replica = self.replica
        promised = getattr(self._local, "promised", {}).get(name, 0)
        on_replica = replica is not None and replica.usable() and replica.shows(name, promised)
        self._local.served = replica if on_replica else None
        return replica.db if on_replica and replica is not None else self.db

    def _promise(self, position: int, names: list[str] | None) -> None:
        """Remember that this thread's next reads of ``names`` must show ``position``. Kept for
        later requests of the thread too: an old promise only ever sends a read to the primary."""
        if self.replica is None:
            return
        promised = self._local.__dict__.setdefault("promised", {})
        for name in names or self.projections:
            promised[name] = max(promised.get(name, 0), position)

    @contextmanager
    def read(self, name: str) -> Iterator[View]:
        """A read transaction on the active generation of ``name``."""
        db = self._reads_from(name)
        with db.transaction(write=False) as tx:
            if tx.dialect == "postgres" and db is self.db:  # a standby's locks guard nothing
                # Held until the read ends, taken before the generation is looked up: a rebuild
                # cannot drop the generation this read found (SQLite: the read's snapshot).
                tx.execute("SELECT pg_advisory_xact_lock_shared(%s)", (self._reader_key(tx, name),))
            rows = tx.execute(
                "SELECT generation FROM projection_state WHERE name = %s AND active = 1", (name,)
            )
            if not rows:
                raise UnknownProjection(f"{name} has no state: run `eventry migrate` first")
            yield View(tx, self.tables(name, rows[0][0]))

    def positions(self, names: list[str] | None = None) -> dict[str, int]:
        with self.db.transaction(write=False) as tx:
            rows = tx.execute("SELECT name, position FROM projection_state WHERE active = 1")
        for name, pos in rows:  # positions only grow: what was seen once stays reached
            self._reached[name] = max(self._reached.get(name, 0), pos)
        wanted = set(names or self.projections)
        return {name: pos for name, pos in rows if name in wanted}

    def served_positions(self, names: list[str]) -> dict[str, int]:
        """The positions of the views that served this thread's last read (replica or primary)."""
        served = getattr(self._local, "served", None)
        if served is not None:
            try:
                return served.positions(names)
            except psycopg.Error:
                pass  # the replica went away after the read: the primary is at least as far
        return self.positions(names)

    def reached(self, position: int, names: list[str]) -> bool:
        """Whether every named view was already seen at or past ``position`` (no query)."""
        self._promise(position, names)
        return all(self._reached.get(name, 0) >= position for name in names)

    def wait(self, position: int, names: list[str] | None = None, timeout: float = 5.0) -> bool:
        """Block until every named view has applied ``position``; False on timeout."""
        self._promise(position, names)
        deadline = time.monotonic() + timeout
        replica = self.replica
        if replica is not None and replica.usable():
            wanted = names or list(self.projections)
            shows = lambda: min(self.positions(wanted).values(), default=0) >= position
            if replica.wait(position, wanted, timeout, shows):
                return True
            # Not on the replica in time: the primary serves this thread's reads of them.
        delay, longest = self.poll_delays
        while True:
            seen = self.progress.seen()
            positions = self.positions(names)
            if positions and min(positions.values()) >= position:
                return True
            if time.monotonic() >= deadline:
                return False
            self.progress.wait(seen, min(delay, deadline - time.monotonic()))
            delay = min(delay * 2, longest)

    def status(self) -> list[Status]:
        head = self.store.head()
        with self.db.transaction(write=False) as tx:
            rows = tx.execute("SELECT name, generation, position, active FROM projection_state ORDER BY name")
        self._refresh_parked()
        result = []
        for name in self.projections:
            mine = [r for r in rows if r[0] == name]
            active = next((r for r in mine if r[3] == 1), None)
            if active is None:
                continue
            rebuilding = next((r[1] for r in mine if r[3] == 0 and r[1] > active[1]), None)
            status = Status(name, active[1], active[2], head, rebuilding)
            telemetry.PROJECTION_POSITION.labels(name).set(status.position)
            telemetry.PROJECTION_LAG.labels(name).set(status.lag)
            result.append(status)
        telemetry.LOG_HEAD.set(head)
        return result

    def dump(self, name: str) -> dict[str, list[tuple[object, ...]]]:
        """Every row of the active generation, sorted: for comparing a view with a rebuild."""
        with self.read(name) as view:
            return {t: sorted(view.execute(f"SELECT * FROM {{{t}}}"), key=repr) for t in view.tables}


def _error_of(call: Callable[..., Any], *args: Any) -> BaseException | None:
    try:
        call(*args)
    except Exception as exc:
        return exc
    return None


def _topic(record: Record) -> str:
    return record.topic if isinstance(record, Undecodable) else record.event.TOPIC


def _now() -> str:
    return datetime.now(UTC).isoformat()
