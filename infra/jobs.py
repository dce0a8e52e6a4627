"""Background jobs on a Redis stream (a consumer group), run off the request path.

``eventry worker`` runs them beside the projections; on the embedded default ``eventry serve``
runs them in a thread. A job is acknowledged after it ran; one whose runner died is claimed by
another after ``claim_idle_ms``, so jobs are at-least-once and must be idempotent (assembly is:
storage is content-addressed and the deciders add a file once).

The stream is namespaced by the deployment's database, so deployments sharing one Redis never
run each other's jobs.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from collections.abc import Callable
from typing import Any

from infra.config import Settings
from infra.redis_streams import GroupReader
from infra.telemetry import log

LOGGER = logging.getLogger("eventry.jobs")
GROUP = "eventry-jobs"
MAX_LENGTH = 100_000
CLAIM_IDLE_MS = 10 * 60 * 1000  # longer than an assembly can take

Handler = Callable[[dict[str, Any]], None]


def jobs_stream(settings: Settings) -> str:
    return f"eventry:jobs:{settings.deployment}"


def enqueue(redis: Any, stream: str, task: str, payload: dict[str, Any]) -> str:
    entry_id = redis.xadd(stream, {"task": task, "payload": json.dumps(payload)}, maxlen=MAX_LENGTH)
    return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)


class JobRunner:
    def __init__(
        self,
        redis: Any,
        stream: str,
        handlers: dict[str, Handler],
        consumer: str | None = None,
        claim_idle_ms: int = CLAIM_IDLE_MS,
        block: bool = True,
    ) -> None:
        consumer = consumer or f"{socket.gethostname()}-{os.getpid()}-{threading.get_ident()}"
        self.reader = GroupReader(
            redis, stream, GROUP, consumer, claim_idle_ms, count=1, block_ms=200 if block else None
        )
        self.handlers = handlers
        self.stop = threading.Event()

    def run_once(self) -> int:
        entries = self.reader.read()
        for entry_id, fields in entries:
            task = fields.get(b"task", b"").decode()
            handler = self.handlers.get(task)
            try:
                if handler is None:
                    raise LookupError(f"unknown job {task!r}")
                handler(json.loads(fields[b"payload"]))
            except Exception as exc:  # a failing job must not stop the others
                log(LOGGER, logging.ERROR, "job failed", task=task, id=entry_id, error=repr(exc))
            self.reader.ack(entry_id)
        return len(entries)

    def run(self) -> None:
        ready, failures = False, 0
        while not self.stop.is_set():
            try:
                if not ready:
                    self.reader.ensure_group()
                    ready = True
                if not self.run_once() and self.reader.block_ms is None:
                    self.stop.wait(0.05)
                failures = 0
            except Exception as exc:  # Redis down: keep trying
                ready, failures = False, failures + 1
                log(LOGGER, logging.ERROR, "job runner failed", error=repr(exc), failures=failures)
                self.stop.wait(min(0.1 * 2**failures, 5.0))

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="eventry-jobs", daemon=True)
        thread.start()
        return thread

    def shutdown(self, thread: threading.Thread | None, timeout: float = 5.0) -> None:
        self.stop.set()
        if thread is not None:
            thread.join(timeout)
