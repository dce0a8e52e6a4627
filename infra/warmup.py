"""A server process's warm-up, before it takes its first request.

A new PostgreSQL connection pays for each table it touches first: the server loads the table's
and its indexes' catalog rows into the backend's caches before it can plan a statement on it.
A new server process opens its pools at start, so its first requests paid that on every
connection they met: a fresh process's first write took ~50 ms in-process where the next ones
take ~6. ``warm`` makes the reads of a request's path, on every pooled connection of the log
and on the views' connection, before the process accepts connections. Nothing is written; a
failure is logged and the process serves all the same (cold).
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore
from psycopg.sql import SQL, Identifier

from infra.bootstrap import Services
from infra.telemetry import log

LOGGER = logging.getLogger("eventry.warmup")
NOBODY = UUID(int=0)  # no stream has it: the stream reads find nothing


def warm(svc: Services) -> int:
    """Warm this process's connections; returns how many of the log's pooled connections were
    warmed (0 on the embedded default's SQLite, or when the warm-up failed)."""
    try:
        warmed = _log_connections(svc)
        svc.store.head()  # the log's head, as reads that wait for their writer's position ask it
        for name in svc.engine.projections:  # each read also reads projection_state
            with svc.engine.read(name) as view:
                for table in view.tables:  # planned, not run: the catalog is what is loaded
                    view.execute(f"SELECT * FROM {{{table}}} LIMIT 0")
        svc.redis.ping()
    except Exception as exc:  # a cold start is slower, not wrong
        log(LOGGER, logging.WARNING, "warm-up failed; serving cold", error=repr(exc))
        return 0
    return warmed


def _log_connections(svc: Services) -> int:
    """Every pooled connection of the log's recorder reads a stream and its snapshot (taken all
    at once, so that each one is warmed, not the first one free again and again)."""
    datastore = getattr(svc.store.recorder, "datastore", None)
    if not isinstance(datastore, PostgresDatastore):  # SQLite: one file, nothing per connection
        return 0
    pool = datastore.pool
    recorders = (svc.store.recorder, svc.dispatcher.snapshots.recorder)
    tables = [t for t in map(_table, recorders) if t is not None]
    connections: list[Any] = [pool.getconn() for _ in range(pool.min_size)]
    try:
        for conn in connections:  # autocommit, as the recorder runs them
            for table in tables:
                conn.execute(
                    SQL(
                        "SELECT originator_version FROM {} WHERE originator_id = %s "
                        "ORDER BY originator_version DESC LIMIT 1"
                    ).format(table),
                    (NOBODY,),
                )
    finally:
        for conn in connections:
            pool.putconn(conn)
    return len(connections)


def _table(recorder: Any) -> Identifier | None:
    """A PostgreSQL recorder's table (schema-qualified), or None for another kind of recorder."""
    datastore = getattr(recorder, "datastore", None)
    if not isinstance(datastore, PostgresDatastore):
        return None
    return Identifier(datastore.schema, recorder.events_table_name)
