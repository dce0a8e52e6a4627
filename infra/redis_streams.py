"""A Redis Streams consumer group member: at-least-once delivery that survives crashes.

``read`` returns, in order of preference: this consumer's own unacknowledged entries (after a
restart under the same name), entries another consumer left pending for longer than
``claim_idle_ms`` (XAUTOCLAIM: that consumer died), then new entries (XREADGROUP ``>``).
The caller acknowledges each entry only after its effect is durable.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import redis

Entry = tuple[str, dict[bytes, bytes]]


@dataclass
class GroupReader:
    redis: Any
    stream: str
    group: str
    consumer: str
    claim_idle_ms: int = 30_000
    count: int = 50
    block_ms: int | None = 1000  # None: do not block (an in-process Redis would spin holding the GIL)

    def __post_init__(self) -> None:
        self._own_pending = True
        self._last_claim = 0.0

    def ensure_group(self) -> None:
        try:
            self.redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def read(self) -> list[Entry]:
        if self._own_pending:
            mine = self._entries(
                self.redis.xreadgroup(self.group, self.consumer, {self.stream: "0"}, self.count)
            )
            if mine:
                return mine
            self._own_pending = False
        if time.monotonic() - self._last_claim >= self.claim_idle_ms / 2000:
            self._last_claim = time.monotonic()
            claimed = self.claim()
            if claimed:
                return claimed
        return self._entries(
            self.redis.xreadgroup(
                self.group, self.consumer, {self.stream: ">"}, self.count, block=self.block_ms
            )
        )

    def claim(self) -> list[Entry]:
        """Take over entries idle past ``claim_idle_ms`` (their consumer is gone)."""
        result = self.redis.xautoclaim(
            self.stream, self.group, self.consumer, self.claim_idle_ms, start_id="0-0", count=self.count
        )
        entries = result[1] if len(result) > 1 else []
        return [(_text(i), fields or {}) for i, fields in entries]

    def rewind(self) -> None:
        """Read this consumer's unacknowledged entries again first (after a failure)."""
        self._own_pending = True

    def ack(self, *ids: str) -> None:
        if ids:
            self.redis.xack(self.stream, self.group, *ids)

    def pending(self) -> int:
        return int(self.redis.xpending(self.stream, self.group)["pending"])

    @staticmethod
    def _entries(response: Any) -> list[Entry]:
        entries: list[Entry] = []
        for _, items in response or []:
            entries.extend((_text(i), fields or {}) for i, fields in items)
        return entries


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
