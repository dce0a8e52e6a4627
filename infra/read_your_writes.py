"""Read-your-writes without a header: each caller's last acknowledged write, per view.

After a write, the server remembers in Redis, for the caller (a token), the log position of
that write for every view its events reach. A later read by the same caller waits (bounded)
until the views it reads have applied that position. Marks are per view so that a write no
view of a read cares about (a metric block, for a directory lookup) never delays that read.
Marks expire: a view that has not caught up within their lifetime is an outage, not a lag.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any

import redis as redis_py

from infra.engine import Engine
from infra.redis import is_cluster

ALL_VIEWS = "*"  # a write whose events are not known (an idempotent replay): every view
REMEMBER = """
local ttl, position = ARGV[1], ARGV[2]
for _, key in ipairs(KEYS) do
  for i = 3, #ARGV do
    redis.call('ZADD', key, 'GT', position, ARGV[i])
  end
  redis.call('EXPIRE', key, ttl)
end
return #KEYS
"""


class WriteMarks:
    def __init__(self, redis: Any, engine: Engine, deployment: str, ttl_seconds: int) -> None:
        self.redis = redis
        self.namespace = f"eventry:ryw:{deployment}"
        self.ttl_seconds = ttl_seconds
        self._views_by_topic: dict[str, list[str]] = {}
        # ZADD GT and EXPIRE as one command (EVALSHA): a write's one Redis call after its
        # append, without a pipeline's client-side cost.
        self._remember = redis.register_script(REMEMBER)
        self._own = threading.local()  # each thread's client, see ``_client``
        for name, projection in engine.projections.items():
            for topic in projection.topics():
                self._views_by_topic.setdefault(topic, []).append(name)

    def key(self, caller: str) -> str:
        return f"{self.namespace}:{caller}"

    def remember(self, caller: str, position: int, topics: Iterable[str] | None) -> None:
        """Record that ``caller``'s write reached ``position``; ``topics`` None means unknown."""
        self.remember_for((caller,), position, topics)

    def remember_for(self, callers: Sequence[str], position: int, topics: Iterable[str] | None) -> None:
        """``remember`` for each of ``callers``, in one command (one per caller on a cluster,
        where the keys of one command must share a slot)."""
        views = (
            [ALL_VIEWS]
            if topics is None
            else sorted({v for t in topics for v in self._views_by_topic.get(t, ())})
        )
        if not views:
            return
        # A sorted set scored by position: ZADD GT only ever raises a view's mark, so
        # concurrent writes of one caller, acknowledged out of order, never lower it.
        keys = [self.key(caller) for caller in callers]
        client = self._client()
        for some in [[key] for key in keys] if is_cluster(self.redis) else [keys]:
            self._remember(keys=some, args=[self.ttl_seconds, position, *views], client=client)

    def marks(self, caller: str) -> dict[str, int]:
        """Every view's mark for ``caller`` (``ALL_VIEWS`` applies to every view)."""
        scored = self._client().zrange(self.key(caller), 0, -1, withscores=True)
        return {(v.decode() if isinstance(v, bytes) else v): int(score) for v, score in scored}

    def _client(self) -> Any:
        """A client holding one connection of the shared pool for this thread (redis-py's
        ``single_connection_client``): a write's two mark commands, one before its append and
        one after, skip the pool's checkout and return (a lock each way and a poll of the
        socket), some 15 µs of CPU each. A Redis Cluster client routes per slot: it is used as
        it is. Retries, timeouts and reconnecting are the pool's connection's own."""
        if not isinstance(self.redis, redis_py.Redis) or is_cluster(self.redis):
            return self.redis
        client = getattr(self._own, "client", None)
        if client is None:
            client = redis_py.Redis(connection_pool=self.redis.connection_pool, single_connection_client=True)
            self._own.client = client
        return client


def position_for(marks: dict[str, int], views: Iterable[str]) -> int:
    """The position ``views`` must reach to show every write the marks stand for (0: none)."""
    return max((marks.get(v, 0) for v in [*views, ALL_VIEWS]), default=0)
