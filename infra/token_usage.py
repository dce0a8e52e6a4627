"""When each API token was last used: a Redis hash, written at most once a minute per token
and process.

Not an event: a request is not a change of state, and an accepted write is forever, so one
event per request would flood the log. The time is therefore precise to the throttle
(``THROTTLE_SECONDS``), is lost with Redis's data, and is not part of an export of the log.
A Redis that does not answer costs the request nothing: the time is simply not recorded.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import redis

LOGGER = logging.getLogger("eventry.token_usage")
THROTTLE_SECONDS = 60.0


class TokenUsage:
    def __init__(
        self,
        client: Any,
        deployment: str,
        throttle: float = THROTTLE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.redis = client
        self.key = f"eventry:token-last-used:{deployment}"
        self.throttle, self.clock = throttle, clock
        self._written: dict[int, float] = {}  # token id -> when this process last wrote it
        self._lock = threading.Lock()

    def touch(self, token_id: int, now: datetime | None = None) -> None:
        """Record a use of the token, unless this process did within the throttle."""
        tick = self.clock()
        with self._lock:
            last = self._written.get(token_id)
            if last is not None and tick - last < self.throttle:
                return
            self._written[token_id] = tick
        at = (now or datetime.now(UTC)).isoformat()
        try:
            self.redis.hset(self.key, str(token_id), at)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            LOGGER.warning("token last-used time not recorded: %s", exc)
            with self._lock:
                self._written.pop(token_id, None)  # try again on the next request

    def last_used(self, token_ids: Iterable[int]) -> dict[int, str]:
        """Each token's last recorded use (ISO 8601, UTC); tokens never used are absent."""
        ids = list(token_ids)
        if not ids:
            return {}
        values = self.redis.hmget(self.key, [str(i) for i in ids])
        return {i: (v.decode() if isinstance(v, bytes) else v) for i, v in zip(ids, values, strict=True) if v}
