"""Feeding a projection batches of events in SQLite, numbered as the log would number them:
how projection tests compare a batch folded whole with the same events folded one by one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from events import Event, Meta, Recorded
from infra.db import SqliteDatabase
from projections import Projection, View

T0 = datetime(2026, 1, 1, tzinfo=UTC)  # the first event's time is a second after it
STREAM = UUID(int=7)


class Folder:
    """``projection``'s tables (names prefixed with ``prefix``), and the effects it emitted."""

    def __init__(self, db: SqliteDatabase, projection: Projection, prefix: str) -> None:
        self.db, self.projection, self.position = db, projection, 0
        self.tables = {t: f"{prefix}_{t}" for t in projection.tables}
        self.effects: list[Any] = []
        with db.transaction() as tx:
            for statement in projection.ddl(self.tables):
                tx.execute(statement)

    def fold(self, events: list[Event]) -> None:
        records = []
        for event in events:
            self.position += 1
            at = T0 + timedelta(seconds=self.position)
            records.append(Recorded(STREAM, self.position, event, at, Meta(), self.position))
        with self.db.transaction() as tx:
            view = View(tx, self.tables)
            self.projection.fold(view, records)
            self.effects += view.effects

    def rows(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every table's rows, sorted."""
        with self.db.transaction(write=False) as tx:
            view = View(tx, self.tables)
            return {t: sorted(view.execute(f"SELECT * FROM {{{t}}}")) for t in self.tables}
