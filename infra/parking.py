"""Parked events: what a projection could not fold, kept aside with its error.

An event a handler raises on is parked for that projection (``failed``), and the later events
of its stream wait behind it (``waiting``): a view never holds a state that skipped one of its
events, while every other stream keeps flowing and the position advances. The worker retries
the head of each parked stream with exponential back-off; once it folds, it and the waiting
ones are applied in order and their rows deleted. Rows belong to one generation of a view, so
a rebuild parks into its own generation and its rows become the live ones at the swap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from infra.db import Tx

FAILED = "failed"
WAITING = "waiting"
MAX_ERROR_CHARS = 2000

DDL = (
    "CREATE TABLE IF NOT EXISTS projection_parked (name TEXT NOT NULL, generation INTEGER NOT NULL, "
    "position BIGINT NOT NULL, stream TEXT NOT NULL, topic TEXT NOT NULL, status TEXT NOT NULL, "
    "error TEXT NOT NULL, attempts INTEGER NOT NULL, first_failed TEXT, last_failed TEXT, "
    "next_retry DOUBLE PRECISION, PRIMARY KEY (name, generation, position))",
    "CREATE INDEX IF NOT EXISTS projection_parked_stream ON projection_parked (name, generation, stream)",
)


@dataclass(frozen=True)
class Parked:
    """One parked event of one projection's generation."""

    projection: str
    generation: int
    position: int
    stream: str
    topic: str
    status: str  # FAILED: its handler raised; WAITING: behind a failed event of its stream
    error: str
    attempts: int
    first_failed: str | None
    last_failed: str | None
    next_retry: float | None  # epoch seconds, for FAILED rows


def describe(exc: BaseException) -> str:
    """The error as text any database column takes (no NUL, no lone surrogate), bounded."""
    text = f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]
    return text.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode("utf-8")


def backoff(attempts: int, base: float, cap: float) -> float:
    """Seconds until the next retry after ``attempts`` failures: doubling, bounded."""
    return min(base * 2 ** max(attempts - 1, 0), cap)


def streams(tx: Tx, name: str, generation: int) -> set[str]:
    """The streams with parked events (later events of these must wait)."""
    rows = tx.execute(
        "SELECT DISTINCT stream FROM projection_parked WHERE name = %s AND generation = %s",
        (name, generation),
    )
    return {r[0] for r in rows}


def park(
    tx: Tx,
    name: str,
    generation: int,
    rows: list[tuple[int, str, str, str | None]],
    retry_in: float,
    now: float,
) -> None:
    """Park ``(position, stream, topic, error)`` rows; ``error`` None means waiting."""
    stamp = _iso(now)
    tx.executemany(
        "INSERT INTO projection_parked (name, generation, position, stream, topic, status, error, "
        "attempts, first_failed, last_failed, next_retry) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        [
            (name, generation, position, stream, topic, WAITING, "", 0, None, None, None)
            if error is None
            else (name, generation, position, stream, topic, FAILED, error, 1, stamp, stamp, now + retry_in)
            for position, stream, topic, error in rows
        ],
    )


def failed_again(
    tx: Tx, name: str, generation: int, position: int, error: str, retry_in: float, now: float
) -> None:
    """The head of a stream failed (again): count it and schedule its next retry."""
    stamp = _iso(now)
    tx.execute(
        "UPDATE projection_parked SET status = %s, error = %s, attempts = attempts + 1, "
        "first_failed = COALESCE(first_failed, %s), last_failed = %s, next_retry = %s "
        "WHERE name = %s AND generation = %s AND position = %s",
        (FAILED, error, stamp, stamp, now + retry_in, name, generation, position),
    )


def unpark(tx: Tx, name: str, generation: int, position: int) -> None:
    tx.execute(
        "DELETE FROM projection_parked WHERE name = %s AND generation = %s AND position = %s",
        (name, generation, position),
    )


def stream_rows(tx: Tx, name: str, generation: int, stream: str) -> list[tuple[int, int]]:
    """``(position, attempts)`` of a stream's parked events, oldest first."""
    rows = tx.execute(
        "SELECT position, attempts FROM projection_parked "
        "WHERE name = %s AND generation = %s AND stream = %s ORDER BY position",
        (name, generation, stream),
    )
    return [(r[0], r[1]) for r in rows]


def failed_streams(tx: Tx, name: str, generation: int, due_by: float | None = None) -> list[str]:
    """Streams whose head failed, in log order; only those due for a retry when ``due_by``."""
    due = "" if due_by is None else " AND next_retry <= %s"
    params: tuple[Any, ...] = (name, generation, FAILED) + (() if due_by is None else (due_by,))
    rows = tx.execute(
        "SELECT stream, MIN(position) FROM projection_parked "
        f"WHERE name = %s AND generation = %s AND status = %s{due} GROUP BY stream ORDER BY 2",
        params,
    )
    return [r[0] for r in rows]


def due(tx: Tx, now: float) -> list[str]:
    """Projections whose live generation has a failed head due for a retry."""
    rows = tx.execute(
        "SELECT DISTINCT p.name FROM projection_parked p JOIN projection_state s "
        "ON s.name = p.name AND s.generation = p.generation AND s.active = 1 "
        "WHERE p.status = %s AND p.next_retry <= %s",
        (FAILED, now),
    )
    return sorted(r[0] for r in rows)


def counts(tx: Tx) -> dict[str, tuple[int, int]]:
    """Per projection, ``(parked events, of which failed)`` in its live generation."""
    rows = tx.execute(
        "SELECT p.name, COUNT(*), SUM(CASE WHEN p.status = %s THEN 1 ELSE 0 END) "
        "FROM projection_parked p JOIN projection_state s "
        "ON s.name = p.name AND s.generation = p.generation AND s.active = 1 GROUP BY p.name",
        (FAILED,),
    )
    return {r[0]: (int(r[1]), int(r[2] or 0)) for r in rows}


def listing(tx: Tx, name: str | None = None) -> list[Parked]:
    where, params = ("WHERE name = %s ", (name,)) if name else ("", ())
    rows = tx.execute(
        "SELECT name, generation, position, stream, topic, status, error, attempts, first_failed, "
        f"last_failed, next_retry FROM projection_parked {where}ORDER BY name, generation, position",
        params,
    )
    return [Parked(*row) for row in rows]


def drop(tx: Tx, name: str, generation: int) -> None:
    tx.execute(
        "DELETE FROM projection_parked WHERE name = %s AND generation = %s",
        (name, generation),
    )


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()
