"""The Redis client: a real server from ``REDIS_URL``, else an in-process one (one process only)."""

from __future__ import annotations

from typing import Any

import fakeredis
import redis

_EMBEDDED: fakeredis.FakeServer | None = None


def connect(url: str | None) -> Any:
    global _EMBEDDED
    if url:
        return redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5, health_check_interval=30)
    if _EMBEDDED is None:
        _EMBEDDED = fakeredis.FakeServer()
    return fakeredis.FakeRedis(server=_EMBEDDED)
