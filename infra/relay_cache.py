"""The Redis side of relay project configs: ``relayconfig:{publicKey}`` holds the full document,
``relayconfig-minimal:{publicKey}`` the minimal one (what a fetch without ``fullConfig`` gets),
both as the projection stored them (``projections/relay_encoding.py``).

The relay_configs projection writes every changed document through (an engine effect, inside
its batch) and deletes a removed key's; the endpoint reads with one MGET and, on a miss (a
flushed or restarted Redis), reads the view and puts the document back.
"""

from __future__ import annotations

from typing import Any

from infra.redis import is_cluster
from projections.relay_configs import CACHE_PREFIX, MINIMAL_CACHE_PREFIX

TTL_SECONDS = 3600


def key(public_key: str, full: bool = True) -> str:
    return f"{CACHE_PREFIX if full else MINIMAL_CACHE_PREFIX}{public_key}"


class RelayConfigCache:
    def __init__(self, redis: Any) -> None:
        self.redis = redis

    def write(self, documents: list[Any]) -> None:
        """The projection's effect, ``(public_key, (full, minimal))``: the last one per key wins
        (batches are ordered); ``(public_key, None)`` drops the cached ones (a removed key's, or
        after a rebuild: the next read refills it from the view)."""
        latest = dict(documents)
        pipe = self.redis.pipeline(transaction=False)
        for public_key, docs in latest.items():
            if docs is None:
                # One key per DEL: in a Redis Cluster the two documents' keys are in two slots.
                pipe.delete(key(public_key))
                pipe.delete(key(public_key, full=False))
            else:
                pipe.set(key(public_key), docs[0], ex=TTL_SECONDS)
                pipe.set(key(public_key, full=False), docs[1], ex=TTL_SECONDS)
        pipe.execute()

    def read(self, public_keys: list[str], full: bool = True) -> dict[str, bytes]:
        """The stored bytes of the cached documents, by public key."""
        return {k: v for k, v in zip(public_keys, self.values(public_keys, full), strict=True) if v}

    def values(self, public_keys: list[str], full: bool = True) -> list[bytes | None]:
        """The stored bytes of each key's cached document, in the keys' order (None: not cached)."""
        if not public_keys:
            return []
        keys = _keys(public_keys, full)
        # A relay asks for up to 100 keys of any organizations, so they cannot share a hash
        # tag: in a Redis Cluster the MGET is split per slot, one pipeline per node.
        values = self.redis.mget_nonatomic(keys) if is_cluster(self.redis) else self.redis.mget(keys)
        return _bytes(values)

    def read_after(
        self, command: tuple[str | int, ...], public_keys: list[str], full: bool = True
    ) -> tuple[Any, list[bytes | None]]:
        """The reply to ``command`` (one Redis command's arguments, as sent: no response
        callback applies) and ``values``', sent in one write (in a Redis Cluster, whose MGET is
        split per slot: one after the other)."""
        if is_cluster(self.redis) or not public_keys:
            return self.redis.execute_command(*command), self.values(public_keys, full)
        answer, values = one_write(self.redis, [command, ("MGET", *_keys(public_keys, full))])
        return answer, _bytes(values)

    def fill(self, documents: dict[str, str], full: bool = True) -> None:
        """Read-through: put back what the view had, never over a newer write of the projection."""
        pipe = self.redis.pipeline(transaction=False)
        for public_key, doc in documents.items():
            pipe.set(key(public_key, full), doc, ex=TTL_SECONDS, nx=True)
        pipe.execute()


def one_write(client: Any, commands: list[tuple[str | int, ...]]) -> list[Any]:
    """The raw replies to ``commands`` (no response callbacks), sent in one write on one
    connection of ``client``'s pool: what a pipeline without a transaction sends and reads,
    without its bookkeeping (some 40 µs of a relay's 100-key fetch). Retried as the client
    retries a command; a connection that failed is closed before it goes back to the pool (it
    may hold replies not read). Not for a Redis Cluster client."""
    pool = client.connection_pool
    conn = pool.get_connection()

    def exchange() -> list[Any]:
        conn.send_packed_command(conn.pack_commands(commands))
        return [conn.read_response() for _ in commands]

    try:
        replies: list[Any] = conn.retry.call_with_retry(exchange, lambda _: conn.disconnect())
        return replies
    except BaseException:
        conn.disconnect()
        raise
    finally:
        pool.release(conn)


def _keys(public_keys: list[str], full: bool) -> list[str]:
    prefix = key("", full)
    return [prefix + k for k in public_keys]


def _bytes(values: list[Any]) -> list[bytes | None]:
    """Each value as bytes, an empty one as none: as read (bytes and nones) unless a client
    decodes its replies, checked without a loop in Python."""
    if b"" not in values and set(map(type, values)) <= _AS_READ:
        return values
    return [(v.encode() if isinstance(v, str) else v) or None for v in values]


_AS_READ = {bytes, type(None)}
