"""Word that the views moved, for the reads waiting on them (read-your-writes).

A read that must see a position waits until its views reach it. Polling alone answers late: a
view that catches up 3 ms after the wait began was seen at the next poll, up to twice as late.
The projection worker says when a cycle committed: in its own process directly, and on
PostgreSQL to every process with ``NOTIFY <channel>`` sent after the commit. Each API process
has one listener thread (started by the first wait that needs it) that wakes its waiters, who
then look at the views' positions again. Polling stays as the fallback: a lost notification or
a listener that cannot connect only makes a wait as slow as before, never wrong.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import psycopg

from infra.telemetry import log

LOGGER = logging.getLogger("eventry.progress")
RECONNECT_SECONDS = 1.0


def progress_channel(events_channel: str) -> str:
    """The channel for progress: the events channel's name, marked (within PostgreSQL's 63)."""
    return f"{events_channel[:54]}_progress"


class ProgressSignal:
    """Wakes the threads waiting for the views to move; ``listen`` adds word from other
    processes (PostgreSQL)."""

    def __init__(self, conninfo: str | None = None, channel: str = "", wake: bytes = b"") -> None:
        self.conninfo = conninfo
        self.channel = channel
        self.wake = wake  # the recorder's unflushed NOTIFY (``<table>_wake(channel)``)
        self._moved = threading.Condition()
        self._count = 0  # notifications so far: a wait misses none that came after ``seen``
        self._listener: threading.Thread | None = None
        self._started = threading.Lock()
        self.closed = threading.Event()
        self.listening = threading.Event()  # set while the listener is connected

    def notify(self) -> None:
        with self._moved:
            self._count += 1
            self._moved.notify_all()

    def seen(self) -> int:
        """Taken before looking at the positions: ``wait(seen)`` then returns at once if word
        came in between."""
        self._listen()
        return self._count

    def wait(self, seen: int, timeout: float) -> None:
        """Until word came after ``seen``, or ``timeout`` seconds (whichever comes first)."""
        with self._moved:
            self._moved.wait_for(lambda: self._count != seen, timeout)

    def send(self, conn: psycopg.Connection[Any]) -> None:
        """Tell the other processes (on an autocommit connection, after the commit). Committed
        without waiting for the flush: a notifying transaction holds a server-wide lock until
        its commit ends, which appends' wake-ups would otherwise wait for (infra/pg_recorder.py)."""
        if self.channel:
            conn.execute(self.wake, (self.channel,), prepare=True)

    def close(self) -> None:
        self.closed.set()

    def _listen(self) -> None:
        if self.conninfo is None or self._listener is not None:
            return
        with self._started:
            if self._listener is None:
                self._listener = threading.Thread(target=self._follow, name="eventry-progress", daemon=True)
                self._listener.start()

    def _follow(self) -> None:
        while not self.closed.is_set():
            try:
                with psycopg.connect(self.conninfo or "", autocommit=True) as conn:
                    conn.execute(f'LISTEN "{self.channel}"')
                    self.listening.set()
                    while not self.closed.is_set():
                        for _ in conn.notifies(timeout=RECONNECT_SECONDS):
                            self.notify()
            except psycopg.Error as exc:  # waits poll meanwhile: slower, never wrong
                self.listening.clear()
                log(LOGGER, logging.WARNING, "progress listener disconnected", error=repr(exc))
                self.closed.wait(RECONNECT_SECONDS)
