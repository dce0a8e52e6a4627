"""Per-process caches of what every request looks up first: the bearer token's principal, the
organization and project a path names, and a signing relay's registration.

Each entry is trusted for a bounded time (``EVENTRY_LOOKUP_CACHE_SECONDS``): that is how long
another process's change (a token revoked, a project renamed or removed) may go unseen here.
This process's own appends drop what they touch at once, and a directory entry also carries
the directory view's position it was read at, so a caller whose own write the view must show
(read-your-writes) never gets an entry older than that write. Misses are not cached: a token or
project created a moment ago is found on the next request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from events.organizations import ApiTokenCreated, ApiTokenRenamed, ApiTokenRevoked
from infra.eventstore import Pending

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

# Events that change what a directory lookup answers (slugs, status, membership).
DIRECTORY_TOPIC_PREFIXES = ("organizations.", "projects.")
RELAY_TOPIC_PREFIX = "relays."  # a registration, a relay made internal


@dataclass(frozen=True)
class _Entry(Generic[V]):
    value: V
    position: int
    expires: float


class Recent(Generic[K, V]):
    """A bounded map whose entries expire ``ttl`` seconds after they were stored."""

    def __init__(self, ttl: float, size: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.size, self.clock = ttl, size, clock
        self._entries: dict[K, _Entry[V]] = {}
        self._lock = threading.Lock()

    def get(self, key: K, at_least: int = 0) -> V | None:
        """The value, unless it expired or was read before position ``at_least``."""
        entry = self._entries.get(key)
        if entry is None or entry.position < at_least or entry.expires <= self.clock():
            return None
        return entry.value

    def put(self, key: K, value: V, position: int = 0) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            self._entries.pop(key, None)  # re-inserted last: the oldest entries go first
            self._entries[key] = _Entry(value, position, self.clock() + self.ttl)
            while len(self._entries) > self.size:
                self._entries.pop(next(iter(self._entries)))

    def drop(self, key: K) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class Lookups:
    """The principal and directory caches of one process, kept current by its own appends."""

    def __init__(self, ttl: float) -> None:
        self.principals: Recent[str, Any] = Recent(ttl)  # token hash -> principal
        self.directory: Recent[tuple[str, ...], Any] = Recent(ttl)  # slugs -> rows
        self.relays: Recent[str, Any] = Recent(ttl)  # relay id -> its registration (RelayState)

    def appended(self, pending: Sequence[Pending]) -> None:
        """Called by the dispatcher after each append of this process."""
        for _, _, evt in pending:
            # Rare: dropping them all costs one read each. A revocation takes effect in this
            # process at once, in others within the cache's lifetime.
            if isinstance(evt, ApiTokenCreated | ApiTokenRevoked | ApiTokenRenamed):
                self.principals.clear()
            if evt.TOPIC.startswith(DIRECTORY_TOPIC_PREFIXES):
                self.directory.clear()
            if evt.TOPIC.startswith(RELAY_TOPIC_PREFIX):
                self.relays.clear()
