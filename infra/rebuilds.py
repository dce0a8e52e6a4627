"""Projection rebuilds started from the operator console, with their progress in Redis.

``eventry projections rebuild NAME`` runs in the operator's terminal; a rebuild asked for in a
browser runs in a background thread of the server process that got the request, and records
its progress under a key any process can read, so the page shows it whichever process serves
the page. A lock (expiring, refreshed as the rebuild progresses) keeps two rebuilds of one view
from running at once across processes. A process that dies mid-rebuild leaves an unfinished
generation that the next rebuild drops (``Engine.rebuild``), and its lock expires.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from typing import Any

from infra.engine import Engine
from infra.parking import describe
from infra.telemetry import log

LOGGER = logging.getLogger("eventry.rebuilds")
LOCK_SECONDS = 60  # without progress for this long, a rebuild is taken for dead
KEEP_SECONDS = 24 * 3600  # how long a finished rebuild's outcome stays shown
RUNNING, DONE, FAILED = "running", "done", "failed"


class Rebuilds:
    def __init__(self, redis: Any, engine: Engine, deployment: str) -> None:
        self.redis = redis
        self.engine = engine
        self.prefix = f"eventry:rebuild:{deployment}"

    def start(self, name: str) -> bool:
        """Start rebuilding ``name`` in the background; False if a rebuild of it is running."""
        self.engine.projection(name)  # UnknownProjection for a name that is not a view
        owner = secrets.token_hex(8)
        if not self.redis.set(self._lock(name), owner, nx=True, ex=LOCK_SECONDS):
            return False
        self._record(
            name, state=RUNNING, position=0, head=self.engine.store.head(), error="", started=time.time()
        )
        threading.Thread(target=self._run, args=(name, owner), name=f"rebuild-{name}", daemon=True).start()
        return True

    def progress(self, name: str) -> dict[str, Any]:
        """``state`` (running, done, failed; empty: never run here), ``position``, ``head``,
        ``generation`` and ``error``; a running rebuild whose lock expired is reported failed."""
        raw = {k.decode(): v.decode() for k, v in self.redis.hgetall(self._key(name)).items()}
        if raw.get("state") == RUNNING and not self.redis.exists(self._lock(name)):
            raw.update(state=FAILED, error="the process running it stopped")
        return {
            "state": raw.get("state", ""),
            "position": int(raw.get("position", 0)),
            "head": int(raw.get("head", 0)),
            "generation": int(raw.get("generation", 0)),
            "error": raw.get("error", ""),
        }

    def _run(self, name: str, owner: str) -> None:
        def report(position: int, head: int) -> None:
            self._record(name, position=position, head=head)
            self.redis.expire(self._lock(name), LOCK_SECONDS)

        try:
            generation = self.engine.rebuild(name, report)
            head = self.engine.store.head()
            self._record(name, state=DONE, generation=generation, position=head, head=head)
            log(LOGGER, logging.INFO, "rebuild done", projection=name, generation=generation)
        except Exception as exc:
            self._record(name, state=FAILED, error=describe(exc))
            log(LOGGER, logging.ERROR, "rebuild failed", projection=name, error=repr(exc))
        finally:
            if self.redis.get(self._lock(name)) == owner.encode():
                self.redis.delete(self._lock(name))

    def _record(self, name: str, **fields: Any) -> None:
        self.redis.hset(self._key(name), mapping={k: str(v) for k, v in fields.items()})
        self.redis.expire(self._key(name), KEEP_SECONDS)

    def _key(self, name: str) -> str:
        return f"{self.prefix}:{name}"

    def _lock(self, name: str) -> str:
        return f"{self.prefix}:{name}:lock"
