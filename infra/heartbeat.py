"""The projection worker's heartbeat: when the active worker last finished a cycle.

``/readyz`` needs to know that some process is keeping the views up to date: a view's lag alone
looks fine on a quiet deployment whose worker has stopped. The active worker (``eventry worker``,
or the projection thread of the embedded default) writes the time of its last good cycle to a
Redis key of the deployment, at most once a second; readers compare it with their own clock
(the machines of a deployment keep their clocks synchronized; the threshold is tens of seconds).
"""

from __future__ import annotations

import time
from typing import Any

from infra.telemetry import WORKER_HEARTBEAT_AGE

INTERVAL = 1.0  # seconds between writes: a worker cycles every poll interval (50 ms)


class Heartbeat:
    def __init__(self, redis: Any, deployment: str) -> None:
        self.redis = redis
        self.key = f"eventry:{deployment}:worker-heartbeat"
        self._written = 0.0

    def beat(self) -> None:
        """Record a good cycle now (throttled). A Redis error propagates to the caller."""
        now = time.time()
        if now - self._written >= INTERVAL:
            self._written = now  # before the write: a Redis outage is reported once a second
            # Kept a day: an hours-old heartbeat still says "the worker stopped", not "never ran".
            self.redis.set(self.key, repr(now), ex=86400)

    def age(self) -> float | None:
        """Seconds since the last good cycle of any worker; None if none ever reported."""
        value = self.redis.get(self.key)
        if value is None:
            WORKER_HEARTBEAT_AGE.set(float("inf"))
            return None
        age = max(0.0, time.time() - float(value))
        WORKER_HEARTBEAT_AGE.set(age)
        return age
