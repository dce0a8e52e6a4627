"""Projections: named read models built by folding the log into tables.

A projection declares its tables and one handler per event type it cares about. Handlers
write through a ``View``: a transaction whose SQL names tables as ``{logical_name}``, which
the view maps to the physical tables of the generation being built. That indirection is
what lets a rebuild fill a fresh generation while the live one keeps serving.

Projections work in sets: the engine folds a batch of events with ``Projection.fold``:
``prepare`` (load what the batch will read, in a few statements), the handlers (which may only
collect, in ``View.pending``) and ``flush`` (write what they collected). Statements whose result
nobody reads go through ``View.write``: they are held and sent as one ``executemany`` per run
of the same statement before the next read and at the end of the fold (on PostgreSQL inside a
pipeline: no round trip each). When a batch fails, the engine redoes it one event at a time,
each a fold of its own, so a failure is still pinned to one event (and parks only its stream).
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Protocol, TypeVar

from events import Event, Recorded
from events.base import readable_topics

P = TypeVar("P", bound="Projection")
S = TypeVar("S")
Handler = Callable[[Any, "View", Recorded], None]


class Tx(Protocol):
    dialect: str

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    def write(self, sql: str, params: Sequence[Any] = ()) -> None: ...

    def copy_new(
        self, table: str, columns: str, rows: Sequence[Sequence[Any]], types: Sequence[str] | None = None
    ) -> bool: ...


class View:
    """A transaction bound to one generation's tables. ``emit`` queues an effect outside the
    database (e.g. a cache write) that the engine performs for the live generation only.
    ``pending`` is the projection's scratch for the batch being folded (see ``flush``)."""

    def __init__(self, tx: Tx, tables: dict[str, str]) -> None:
        self.tx = tx
        self.tables = tables
        self.dialect = tx.dialect
        self.effects: list[Any] = []
        self.pending: Any = None
        # Writes not sent yet, per set of tables they name, in order within each.
        self._held: dict[frozenset[str], list[tuple[str, list[Sequence[Any]]]]] = {}

    def emit(self, effect: Any) -> None:
        self.effects.append(effect)

    def scratch(self, kind: type[S]) -> S:
        """``pending``, made as ``kind()`` by the batch's first handler that collects in it."""
        if self.pending is None:
            self.pending = kind()
        assert isinstance(self.pending, kind)
        return self.pending

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self.drain()  # a read sees every write before it
        return self.tx.execute(sql.format(**self.tables), params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """``write`` of each row, held in one go."""
        if rows:
            self._hold(sql).extend(rows)

    def copy_new(
        self, table: str, columns: str, rows: Sequence[Sequence[Any]], types: Sequence[str] | None = None
    ) -> bool:
        """``rows`` into the logical ``table`` in one COPY when all of them are new (PostgreSQL,
        large sets): True. False when nothing was written: the caller upserts them. With the
        columns' ``types`` (``int8``, ``int4``, ``text``...) the COPY is binary."""
        self.drain()
        return self.tx.copy_new(self.tables[table], columns, rows, types)

    def write(self, sql: str, params: Sequence[Any] = ()) -> None:
        """A statement whose result is not read: held, and sent with the next read or
        ``drain``. Writes to other tables commute, so they are held per table, and consecutive
        ones of the same statement go in one ``executemany``."""
        self._hold(sql).append(params)

    def _hold(self, sql: str) -> list[Sequence[Any]]:
        """The rows held for ``sql`` to be sent next (see ``write``)."""
        tables = _tables_of(sql)
        held = self._held.get(tables)
        if held is None:
            if any(tables & other for other in self._held):  # overlapping: keep their order
                self.drain()
            held = self._held[tables] = []
        if not held or held[-1][0] != sql:
            held.append((sql, []))
        return held[-1][1]

    def drain(self) -> None:
        """Send the held writes (an error of theirs is raised here)."""
        held, self._held = self._held, {}
        for statements in held.values():
            for sql, rows in statements:
                if len(rows) == 1:
                    self.tx.write(sql.format(**self.tables), rows[0])
                else:
                    self.tx.executemany(sql.format(**self.tables), rows)

    def discard(self) -> None:
        """Forget what the handlers collected and the writes not sent (their event is undone)."""
        self.pending = None
        self._held = {}


@functools.lru_cache(maxsize=512)
def _tables_of(sql: str) -> frozenset[str]:
    """The logical tables a statement names (``{name}``)."""
    return frozenset(re.findall(r"(?<!\{)\{(\w+)\}(?!\})", sql))


def on(*event_types: type[Event]) -> Callable[[Handler], Handler]:
    """Mark a method as the handler of the given event types."""

    def mark(fn: Handler) -> Handler:
        fn.__dict__.setdefault("_handles", []).extend(event_types)
        return fn

    return mark


class Projection:
    """Subclasses set ``name`` and ``tables`` (logical name -> column definitions) and
    ``indexes`` (``CREATE INDEX`` bodies naming tables as ``{logical_name}``)."""

    name: ClassVar[str]
    tables: ClassVar[dict[str, str]]
    indexes: ClassVar[tuple[str, ...]] = ()
    # Bump when handlers change what the view holds: `eventry migrate` then rebuilds it.
    version: ClassVar[int] = 1
    _handlers: ClassVar[dict[type[Event], Handler]]
    # Per event class folded, its handler (None: not handled), found once along its MRO.
    _resolved: ClassVar[dict[type[Event], Handler | None]]
    _handled: ClassVar[tuple[type[Event], ...]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        handlers: dict[type[Event], Handler] = {}
        for base in reversed(cls.__mro__):
            for attr in vars(base).values():
                for event_type in getattr(attr, "_handles", ()):
                    handlers[event_type] = attr
        cls._handlers = handlers
        cls._resolved = {}
        cls._handled = tuple(handlers)

    @classmethod
    def topics(cls) -> tuple[str, ...]:
        """Every topic the log may hold (older versions included) whose class is, or derives
        from, a handled type."""
        handled = tuple(cls._handlers)
        return tuple(sorted(t for t, c in readable_topics().items() if issubclass(c, handled)))

    @classmethod
    def folds(cls, event: Event) -> bool:
        """Whether ``event`` is one this view folds (what ``topics`` selects, once decoded):
        a log read shared by several views gives each the events it folds."""
        return isinstance(event, cls._handled)

    def apply(self, view: View, recorded: Recorded) -> None:
        """Apply one event completely (a fold of one)."""
        self.fold(view, (recorded,))

    def fold(self, view: View, records: Sequence[Recorded]) -> None:
        """Apply ``records`` in one go: what they read loaded first, what they collected and
        every held write sent last. The engine folds a batch, or one event when redoing one."""
        self.prepare(view, records)
        for recorded in records:
            self.handle(view, recorded)
        self.flush(view)
        view.drain()

    def handle(self, view: View, recorded: Recorded) -> None:
        """Run the event's handler (it may only collect, for ``flush``)."""
        event_type = type(recorded.event)
        try:
            handler = self._resolved[event_type]
        except KeyError:
            handler = self._resolved[event_type] = self._handler_of(event_type)
        if handler is not None:
            handler(self, view, recorded)

    @classmethod
    def _handler_of(cls, event_type: type[Event]) -> Handler | None:
        """The handler of the nearest class in ``event_type``'s MRO that has one."""
        for base in event_type.__mro__:
            handler = cls._handlers.get(base)
            if handler is not None:
                return handler
        return None

    def prepare(self, view: View, records: Sequence[Recorded]) -> None:
        """Before a batch is folded: load what its handlers will read (nothing, by default)."""

    def flush(self, view: View) -> None:
        """After the batch's events (or each event, when a batch is redone one by one): write
        what the handlers collected in ``view.pending`` and reset it (nothing, by default)."""

    def activate(self, view: View, since: int) -> None:
        """A rebuilt generation just became the live one; the live one had applied ``since``.
        Emit the effects of what it applied beyond that (nothing, for most projections)."""

    @classmethod
    def fingerprint(cls) -> str:
        """Identifies the view's shape: its tables, indexes and version."""
        template = {t: f"{{{t}}}" for t in cls.tables}
        text = "|".join([str(cls.version), *cls.ddl(template)])
        return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()

    @classmethod
    def ddl(cls, tables: dict[str, str]) -> list[str]:
        statements = [
            f"CREATE TABLE IF NOT EXISTS {tables[name]} ({columns})" for name, columns in cls.tables.items()
        ]
        for i, index in enumerate(cls.indexes):
            first_table = next(iter(tables.values()))
            statements.append(f"CREATE INDEX IF NOT EXISTS {first_table}_ix{i} ON {index.format(**tables)}")
        return statements
