"""The query side on a PostgreSQL streaming replica (``DATABASE_REPLICA_URL``).

Appends, the projection worker and everything else that writes use the primary; view reads
(``Engine.read``) may use a hot standby of it. A standby replays the primary's write-ahead log
in commit order, and a view batch moves its rows and its ``projection_state`` position in one
transaction, so the replica's ``projection_state`` says exactly which log position each of its
views shows. That is what makes read-your-writes hold through it:

- a read that must show position P (the caller's own write, ``X-Eventry-Min-Position``) waits
  on the replica's positions, never on the primary's;
- the engine remembers, per thread, the positions its waits promised, and serves a read from
  the replica only when the replica's view is known to be at or past them; otherwise from the
  primary, whose views are never behind the replica's.

Health: a monitor thread samples the primary's WAL position and the replica's replayed one.
The replica is behind by the age of the oldest primary sample it has not replayed yet (0 when
it replayed them all), which needs no clock shared with the replica and does not mistake an
idle primary for a stuck replica. While the replica does not answer, or lags more than
``EVENTRY_REPLICA_MAX_LAG`` seconds, every read goes to the primary.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo

from infra.db import PostgresDatabase
from infra.telemetry import REPLICA_LAG, log

LOGGER = logging.getLogger("eventry.replica")
SAMPLE_INTERVAL = 0.25  # seconds between lag samples (two short queries)
HISTORY_SECONDS = 120.0  # samples older than this are forgotten: the lag reads at most this
CONNECT_TIMEOUT = 1  # seconds: a replica that is down must not hold reads up


class LagMeter:
    """Replication lag in seconds from samples of (time, primary WAL position)."""

    def __init__(self, primary_conninfo: str, replica_conninfo: str) -> None:
        self.primary_conninfo = primary_conninfo
        self.replica_conninfo = replica_conninfo
        self._samples: collections.deque[tuple[float, int]] = collections.deque()
        self._primary: psycopg.Connection[Any] | None = None
        self._replica: psycopg.Connection[Any] | None = None

    def sample(self) -> float | None:
        """One sample; the lag in seconds, or None when the replica (or primary) does not answer."""
        try:
            self._primary = self._primary or _connect(self.primary_conninfo)
            row = self._primary.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn").fetchone()
            now = time.monotonic()
            self._samples.append((now, int(row[0]) if row else 0))
            self._replica = self._replica or _connect(self.replica_conninfo)
            row = self._replica.execute("SELECT pg_last_wal_replay_lsn() - '0/0'::pg_lsn").fetchone()
        except psycopg.Error:
            self.close()
            return None
        if not row or row[0] is None:  # not a standby: it replays nothing
            return None
        replayed = int(row[0])
        while self._samples and self._samples[0][0] < now - HISTORY_SECONDS:
            self._samples.popleft()
        pending = [at for at, lsn in self._samples if lsn > replayed]
        return now - min(pending) if pending else 0.0

    def close(self) -> None:
        for conn in (self._primary, self._replica):
            if conn is not None:
                conn.close()
        self._primary = self._replica = None


class Replica:
    """The replica's connection pool, its health and the positions its views have reached."""

    def __init__(
        self, conninfo: str, primary_conninfo: str, max_lag: float, interval: float = SAMPLE_INTERVAL
    ) -> None:
        self.db = PostgresDatabase(make_conninfo(conninfo, connect_timeout=CONNECT_TIMEOUT))
        self.meter = LagMeter(primary_conninfo, conninfo)
        self.max_lag = max_lag
        self.interval = interval
        self.lag: float | None = None  # None: not answering (or not measured yet)
        self.reached: dict[str, int] = {}  # per view, the highest position seen on the replica
        self._monitor_pid: int | None = None
        self._measured = threading.Event()
        self._stop = threading.Event()
        self._start_lock = threading.Lock()

    def usable(self) -> bool:
        """Whether reads may go to the replica now (answering, within the allowed lag)."""
        self._ensure_monitor()
        lag = self.lag
        return lag is not None and lag <= self.max_lag

    def positions(self, names: list[str] | None = None) -> dict[str, int]:
        """The replica's view positions (the views' ``projection_state`` as it replayed it)."""
        with self.db.transaction(write=False) as tx:
            rows = tx.execute("SELECT name, position FROM projection_state WHERE active = 1")
        for name, position in rows:
            self.reached[name] = max(self.reached.get(name, 0), position)
        return {name: pos for name, pos in rows if names is None or name in names}

    def shows(self, name: str, position: int) -> bool:
        """Whether the replica's view ``name`` is at ``position`` or past it (at most one query).
        A view the replica has not shown yet is asked for even at position 0: right after a
        migration the replica may not have replayed its tables."""
        if self.reached.get(name, -1) >= position:
            return True
        try:
            return self.positions([name]).get(name, -1) >= position
        except (psycopg.Error, OSError):
            self.lag = None  # the monitor sets it again when the replica answers
            return False

    def wait(
        self, position: int, names: list[str], timeout: float, primary_shows: Callable[[], bool]
    ) -> bool:
        """Until the replica's ``names`` reach ``position``: True when they did, False at the
        timeout, when the replica stops being usable, or when, after ``max_lag`` seconds of
        waiting, the primary shows it (the read then goes to the primary)."""
        started = time.monotonic()
        deadline = started + timeout
        delay = 0.001
        while True:
            try:
                positions = self.positions(names)
            except (psycopg.Error, OSError):
                self.lag = None
                return False
            if positions and min(positions.get(n, 0) for n in names) >= position:
                return True
            now = time.monotonic()
            if now >= deadline or not self.usable():
                return False
            if now - started >= self.max_lag and primary_shows():
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.02)

    def _ensure_monitor(self) -> None:
        """Start the sampling thread in this process (after a fork too: threads do not survive
        one), and wait for its first sample, so a fresh process does not start on the primary."""
        if self._monitor_pid == os.getpid():
            return
        with self._start_lock:
            if self._monitor_pid != os.getpid():
                self._measured.clear()
                threading.Thread(target=self._monitor, name="eventry-replica-lag", daemon=True).start()
                self._monitor_pid = os.getpid()
        self._measured.wait(CONNECT_TIMEOUT * 2 + 1)

    def _monitor(self) -> None:
        was_usable: bool | None = None
        while not self._stop.is_set():
            lag = self.meter.sample()
            REPLICA_LAG.set(float("inf") if lag is None else lag)  # the gauge first: what
            self.lag = lag  # the lag shows, a scrape right after shows too
            self._measured.set()
            usable = self.lag is not None and self.lag <= self.max_lag
            if usable != was_usable:
                if usable:
                    # Pooled connections from before an outage are broken: drop them now, not
                    # one failed read each.
                    self.db.pool.check()
                level = logging.INFO if usable else logging.WARNING
                state = "serving reads" if usable else "reads go to the primary"
                log(LOGGER, level, f"replica {state}", lag_seconds=self.lag, max_lag=self.max_lag)
                was_usable = usable
            self._stop.wait(self.interval)
        self.meter.close()

    def close(self) -> None:
        self._stop.set()
        self.db.close()


def _connect(conninfo: str) -> psycopg.Connection[Any]:
    return psycopg.connect(conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
