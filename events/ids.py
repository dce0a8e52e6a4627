"""Reservations of drawn ids: the log's own guarantee that an id names one entity.

Snowflake ids come from Redis, outside the log; a Redis that lost its counters (or two that
never shared them) hands out an id twice. Every event that introduces an entity under a drawn
id is appended together with an ``IdReserved`` at version 1 of that id's stream, so the
second use of an id fails the append instead of reaching the log.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID, uuid5

from events.base import Event, event
from events.streams import NAMESPACE


def reserved_id_stream(kind: str, entity_id: int) -> UUID:
    return uuid5(NAMESPACE, f"reserved-id:{kind}:{entity_id}")


@event
@dataclass(frozen=True)
class IdReserved(Event):
    TOPIC = "ids.IdReserved.v1"
    kind: str
    entity_id: int
