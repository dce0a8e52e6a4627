"""The Redis side of relay project configs: ``relayconfig:{publicKey}`` holds the document.

The relay_configs projection writes every changed document through (an engine effect, inside
its batch); the endpoint reads with one MGET and, on a miss (a flushed or restarted Redis),
reads the view and puts the document back.
"""

from __future__ import annotations

from typing import Any

from projections.relay_configs import CACHE_PREFIX

TTL_SECONDS = 3600


def key(public_key: str) -> str:
    return f"{CACHE_PREFIX}{public_key}"


class RelayConfigCache:
    def __init__(self, redis: Any) -> None:
        self.redis = redis

    def write(self, documents: list[Any]) -> None:
        """The projection's effect: the last document per key wins (batches are ordered); a
        document of ``None`` drops the cached one (the next read refills it from the view)."""
        latest = dict(documents)
        pipe = self.redis.pipeline(transaction=False)
        for public_key, doc in latest.items():
            if doc is None:
                pipe.delete(key(public_key))
            else:
                pipe.set(key(public_key), doc, ex=TTL_SECONDS)
        pipe.execute()

    def read(self, public_keys: list[str]) -> dict[str, str]:
        if not public_keys:
            return {}
        values = self.redis.mget([key(k) for k in public_keys])
        return {
            k: (v.decode() if isinstance(v, bytes) else v)
            for k, v in zip(public_keys, values, strict=True)
            if v
        }

    def fill(self, documents: dict[str, str]) -> None:
        """Read-through: put back what the view had, never over a newer write of the projection."""
        pipe = self.redis.pipeline(transaction=False)
        for public_key, doc in documents.items():
            pipe.set(key(public_key), doc, ex=TTL_SECONDS, nx=True)
        pipe.execute()
