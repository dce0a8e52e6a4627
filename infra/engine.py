"""The projection engine: catch-up in batches, status, rebuild into a new generation, waits.

Each projection has rows in ``projection_state``: one per generation of its tables, exactly
one of them active. A batch applies many events and moves the position in one transaction,
so a view and its position can never disagree, and a killed worker resumes where the last
committed batch ended. A rebuild fills generation N+1 while N serves, then swaps.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from infra import telemetry
from infra.db import Database, Tx
from infra.eventstore import EventStore
from infra.telemetry import log
from projections import PROJECTIONS, Projection, View

LOGGER = logging.getLogger("eventry.engine")

STATE_DDL = (
    "CREATE TABLE IF NOT EXISTS projection_state (name TEXT NOT NULL, generation INTEGER NOT NULL, "
    "position BIGINT NOT NULL, active INTEGER NOT NULL, updated_at TEXT NOT NULL, "
    "schema TEXT NOT NULL DEFAULT '', PRIMARY KEY (name, generation))"
)


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


class UnknownProjection(KeyError):
    pass


class Engine:
    def __init__(
        self,
        db: Database,
        store: EventStore,
        projections: tuple[type[Projection], ...] = PROJECTIONS,
        batch_size: int = 500,
        effects: dict[str, Callable[[list[Any]], None]] | None = None,
        repeat_after_commit: frozenset[str] = frozenset(),
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
        self._reached: dict[str, int] = {}  # the highest position seen per view, this process

    def projection(self, name: str) -> Projection:
        try:
            return self.projections[name]
        except KeyError:
            raise UnknownProjection(name) from None

    def tables(self, name: str, generation: int) -> dict[str, str]:
        return {t: f"v_{name}_g{generation}_{t}" for t in self.projection(name).tables}

    def migrate(self, progress: Callable[[str, int, int], None] | None = None) -> list[str]:
        """Create missing views; rebuild those whose tables or code version changed.
        Returns the names rebuilt."""
        outdated = []
        with self.db.transaction() as tx:
            tx.execute(STATE_DDL)
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

    def _advance(
        self,
        tx: Tx,
        name: str,
        generation: int,
        position: int,
        live: bool = True,
        performed: list[Any] | None = None,
    ) -> int:
        """Apply one batch after ``position`` to ``generation``; returns the new position."""
        projection = self.projection(name)
        head = self.store.head()
        if head <= position:
            return position
        records = self.store.read_log(position, self.batch_size, projection.topics(), stop=head)
        view = View(tx, self.tables(name, generation))
        for record in records:
            projection.apply(view, record)
        if live:
            self._perform(name, view)
            if performed is not None:
                performed.extend(view.effects)
        new_position = records[-1].position if len(records) == self.batch_size else head
        assert new_position is not None
        tx.execute(
            "UPDATE projection_state SET position = %s, updated_at = %s WHERE name = %s AND generation = %s",
            (new_position, _now(), name, generation),
        )
        return new_position

    def catch_up(self, name: str) -> bool:
        """One batch for the active generation; True if the position moved."""
        performed: list[Any] = []
        with self.db.transaction() as tx:
            generation, position = self._lock(tx, name)
            new_position = self._advance(tx, name, generation, position, performed=performed)
        if performed and name in self.repeat_after_commit:
            # Again after commit: a cache refilled from the view between the first write and the
            # commit (after a flush) held the old state; this overwrites it. Best effort: the
            # first write, inside the batch, is the one that must not be lost.
            try:
                self.effects[name](performed)
            except Exception as exc:
                log(LOGGER, logging.WARNING, "post-commit effect failed", projection=name, error=repr(exc))
        telemetry.PROJECTION_POSITION.labels(name).set(new_position)
        return new_position > position

    def catch_up_all(self, names: list[str] | None = None) -> int:
        """Run batches until every named projection is at the head; returns batches run."""
        batches = 0
        for name in names or list(self.projections):
            while self.catch_up(name):
                batches += 1
        return batches

    def rebuild(self, name: str, progress: Callable[[int, int], None] | None = None) -> int:
        """Replay the whole log into a new generation, then make it the active one."""
        projection = self.projection(name)
        with self.db.transaction() as tx:
            active, _ = self._lock(tx, name)
            for (old,) in tx.execute(
                "SELECT generation FROM projection_state WHERE name = %s AND active = 0", (name,)
            ):
                self._drop(tx, name, old)
            new = active + 1
            for statement in projection.ddl(self.tables(name, new)):
                tx.execute(statement)
            tx.execute(
                "INSERT INTO projection_state (name, generation, position, active, updated_at, schema) "
                "VALUES (%s, %s, 0, 0, %s, %s)",
                (name, new, _now(), projection.fingerprint()),
            )
        position, head = 0, self.store.head()
        while position < head:  # batches in their own transactions: the live view keeps serving
            with self.db.transaction() as tx:
                position = self._advance(tx, name, new, self._lock(tx, name, new)[1], live=False)
            if progress:
                progress(min(position, head), head)
        with self.db.transaction() as tx:
            _, live_position = self._lock(tx, name)  # hold the live generation still meanwhile
            position = self._lock(tx, name, new)[1]
            while True:
                moved = self._advance(tx, name, new, position, live=False)
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
        # The old generation stays until the next rebuild: readers that looked up the
        # generation just before the swap may still be reading it.
        return new

    def _perform(self, name: str, view: View) -> None:
        if view.effects and name in self.effects:
            self.effects[name](view.effects)

    def _drop(self, tx: Tx, name: str, generation: int) -> None:
        for table in self.tables(name, generation).values():
            tx.execute(f"DROP TABLE IF EXISTS {table}")
        tx.execute("DELETE FROM projection_state WHERE name = %s AND generation = %s", (name, generation))

    @contextmanager
    def read(self, name: str) -> Iterator[View]:
        """A read transaction on the active generation of ``name``."""
        with self.db.transaction(write=False) as tx:
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

    def reached(self, position: int, names: list[str]) -> bool:
        """Whether every named view was already seen at or past ``position`` (no query)."""
        return all(self._reached.get(name, 0) >= position for name in names)

    def wait(self, position: int, names: list[str] | None = None, timeout: float = 5.0) -> bool:
        """Block until every named view has applied ``position``; False on timeout."""
        deadline = time.monotonic() + timeout
        delay = 0.001
        while True:
            positions = self.positions(names)
            if positions and min(positions.values()) >= position:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.02)

    def status(self) -> list[Status]:
        head = self.store.head()
        with self.db.transaction(write=False) as tx:
            rows = tx.execute("SELECT name, generation, position, active FROM projection_state ORDER BY name")
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


def _now() -> str:
    return datetime.now(UTC).isoformat()
