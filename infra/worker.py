"""The projection worker: follow the log and keep every view at its head.

Wake-ups come from PostgreSQL LISTEN/NOTIFY (the event recorder NOTIFYs on every append),
from the in-process dispatcher (embedded default), or from the poll interval. On PostgreSQL
one worker per deployment (database schema) is active at a time, holding a session advisory
lock keyed by that schema; others wait as standbys. Parked events are retried about once per
``retry_interval`` when their back-off has elapsed.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import psycopg

from infra.engine import Engine, advisory_key
from infra.heartbeat import Heartbeat
from infra.preflight import not_migrated
from infra.telemetry import log

LOGGER = logging.getLogger("eventry.worker")
# The longest an idle worker on PostgreSQL waits between polls (NOTIFY wakes it at once).
IDLE_POLL_CAP = 0.5


class Worker:
    def __init__(
        self,
        engine: Engine,
        names: list[str] | None = None,
        poll_interval: float = 0.05,
        conninfo: str | None = None,
        channel: str = "eventry_events",
        retry_interval: float = 1.0,
        heartbeat: Heartbeat | None = None,
    ) -> None:
        self.engine = engine
        self.names = names
        self.poll_interval = poll_interval
        self.conninfo = conninfo
        self.channel = channel
        self.retry_interval = retry_interval
        self.heartbeat = heartbeat
        self._next_retry = 0.0
        self.wake = threading.Event()
        self.stop = threading.Event()
        self._conn: psycopg.Connection[Any] | None = None
        self._idle = 0  # polls in a row that found nothing (see _sleep)

    def notify(self, position: int = 0) -> None:
        self.wake.set()

    def run(self) -> None:
        failures = 0
        while not self.stop.is_set():
            try:
                if self.conninfo and not self._lead():
                    self.stop.wait(1.0)
                    continue
                batches = self.engine.catch_up_all(self.names, moved=self._wake_readers)
                if time.monotonic() >= self._next_retry:
                    self._next_retry = time.monotonic() + self.retry_interval
                    batches += self._moved(self.engine.retry_due(self.names))
                failures = 0
                self._beat()
                if batches:
                    self._idle = 0
                else:
                    self._sleep()
            except Exception as exc:  # keep following; a bad batch was rolled back whole
                failures += 1
                # Missing tables are no transient fault: say what fixes them (it is retried all
                # the same, so the worker resumes by itself once someone runs the migration).
                hint = "run `eventry migrate`" if not_migrated(exc) else None
                log(
                    LOGGER,
                    logging.ERROR,
                    "projection batch failed",
                    error=repr(exc),
                    failures=failures,
                    **({"fix": hint} if hint else {}),
                )
                self._disconnect()
                self.stop.wait(min(0.1 * 2**failures, 5.0))
        self._disconnect()

    def _moved(self, batches: int) -> int:
        """After ``batches`` committed, wake the reads waiting for the views. Returns ``batches``."""
        if batches:
            self._wake_readers()
        return batches

    def _wake_readers(self) -> None:
        """Wake the reads waiting for the views at once: this process's, and on PostgreSQL
        every API process's (called after each round of a catch-up, not only at its end)."""
        self.engine.progress.notify()
        if self._conn is not None:
            self.engine.progress.send(self._conn)

    def _beat(self) -> None:
        """Tell /readyz this worker is alive; Redis being down must not stop the views."""
        if self.heartbeat is None:
            return
        try:
            self.heartbeat.beat()
        except Exception as exc:
            log(LOGGER, logging.WARNING, "worker heartbeat not written", error=repr(exc))

    def _lead(self) -> bool:
        """Connect, LISTEN and take the advisory lock; False while another worker leads."""
        if self._conn is None or self._conn.closed:
            conn = psycopg.connect(self.conninfo or "", autocommit=True)
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (self.lock_key(conn),)).fetchone()
            if not row or not row[0]:
                conn.close()
                return False
            conn.execute(f'LISTEN "{self.channel}"')
            self._conn = conn
            log(LOGGER, logging.INFO, "projection worker is active")
        return True

    @staticmethod
    def lock_key(conn: psycopg.Connection[Any]) -> int:
        """One leader per deployment: the key is derived from the schema this worker's views
        and log live in (advisory locks are per database, and deployments share databases)."""
        row = conn.execute("SELECT current_schema()").fetchone()
        return advisory_key(str(row[0] if row else ""), "worker")

    def _sleep(self) -> None:
        if self._conn is not None:
            # Every append NOTIFYs: polling is only the fallback, so an idle worker polls ever
            # less often (the interval doubling up to IDLE_POLL_CAP; a wake-up resets it).
            timeout = min(self.poll_interval * 2**self._idle, max(IDLE_POLL_CAP, self.poll_interval))
            woken = any(True for _ in self._conn.notifies(timeout=timeout, stop_after=1))
            self._idle = 0 if woken else self._idle + 1
            return
        self.wake.wait(self.poll_interval)
        self.wake.clear()

    def _disconnect(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="eventry-projections", daemon=True)
        thread.start()
        return thread

    def shutdown(self, thread: threading.Thread | None = None, timeout: float = 5.0) -> None:
        self.stop.set()
        self.wake.set()
        if thread is not None:
            thread.join(timeout)


def wait_until(predicate: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return bool(predicate())
