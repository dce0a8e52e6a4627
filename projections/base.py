"""Projections: named read models built by folding the log into tables.

A projection declares its tables and one handler per event type it cares about. Handlers
write through a ``View``: a transaction whose SQL names tables as ``{logical_name}``, which
the view maps to the physical tables of the generation being built. That indirection is
what lets a rebuild fill a fresh generation while the live one keeps serving.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Protocol, TypeVar

from events import Event, Recorded
from events.base import readable_topics

P = TypeVar("P", bound="Projection")
Handler = Callable[[Any, "View", Recorded], None]


class Tx(Protocol):
    dialect: str

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...


class View:
    """A transaction bound to one generation's tables. ``emit`` queues an effect outside the
    database (e.g. a cache write) that the engine performs for the live generation only."""

    def __init__(self, tx: Tx, tables: dict[str, str]) -> None:
        self.tx = tx
        self.tables = tables
        self.dialect = tx.dialect
        self.effects: list[Any] = []

    def emit(self, effect: Any) -> None:
        self.effects.append(effect)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.tx.execute(sql.format(**self.tables), params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.tx.executemany(sql.format(**self.tables), rows)


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

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        handlers: dict[type[Event], Handler] = {}
        for base in reversed(cls.__mro__):
            for attr in vars(base).values():
                for event_type in getattr(attr, "_handles", ()):
                    handlers[event_type] = attr
        cls._handlers = handlers

    @classmethod
    def topics(cls) -> tuple[str, ...]:
        """Every topic the log may hold (older versions included) whose class is, or derives
        from, a handled type."""
        handled = tuple(cls._handlers)
        return tuple(sorted(t for t, c in readable_topics().items() if issubclass(c, handled)))

    def apply(self, view: View, recorded: Recorded) -> None:
        for event_type in type(recorded.event).__mro__:
            handler = self._handlers.get(event_type)
            if handler is not None:
                handler(self, view, recorded)
                return

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
