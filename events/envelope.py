"""What the log holds around an event: where it is, who caused it and when."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from events.base import Event, filled


@dataclass(frozen=True)
class Meta:
    """Who caused an event. ``actor_type`` is ``token``, ``relay``, ``cli`` or ``system``."""

    actor_type: str = "system"
    actor_id: int | None = None
    actor_label: str = ""
    ip_address: str | None = None
    request_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "actor_type": self.actor_type,
            "actor_id": self.actor_id,
            "actor_label": self.actor_label,
            "ip_address": self.ip_address,
            "request_id": self.request_id,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, given: bool = False) -> Meta:
        """``given``: the caller gives ``data`` away, and it is kept when it needs no change."""
        if given and data.keys() == _META_FIELDS and data["actor_type"] and type(data["actor_label"]) is str:
            return filled(cls, data, given=True)
        values: dict[str, Any] = {
            "actor_type": data.get("actor_type") or "system",
            "actor_id": data.get("actor_id"),
            "actor_label": data.get("actor_label") or "",
            "ip_address": data.get("ip_address"),
            "request_id": data.get("request_id"),
        }
        return filled(cls, values, given=True)  # built per event read: without the frozen __init__


_META_FIELDS = frozenset(("actor_type", "actor_id", "actor_label", "ip_address", "request_id"))


@dataclass(frozen=True)
class Recorded:
    """An event as stored: ``position`` is its place in the one global log (None when read
    from its stream, where the log position is not needed)."""

    stream: UUID
    version: int
    event: Event
    at: datetime
    meta: Meta = field(default_factory=Meta)
    position: int | None = None

    @property
    def stamp(self) -> str:
        """``at`` in ISO 8601, as the log stores it: views write it with every event, and
        formatting the datetime again cost more than the rest of some handlers."""
        text = self.__dict__.get(STAMP)
        return text if text is not None else self.at.isoformat()


STAMP = "_stamp"  # where a Recorded read from the log keeps the text of its ``at``
