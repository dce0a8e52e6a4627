"""Relays registered with this server."""

from __future__ import annotations

from dataclasses import dataclass

from events.base import Event, event


@event
@dataclass(frozen=True)
class RelayRegistered(Event):
    """A relay completed the challenge/response (or an operator registered it as internal)."""

    TOPIC = "relays.RelayRegistered.v1"
    relay_id: str
    public_key: str
    version: str
    internal: bool


@event
@dataclass(frozen=True)
class RelayVersionChanged(Event):
    TOPIC = "relays.RelayVersionChanged.v1"
    relay_id: str
    version: str
