"""Idempotent requests: the first outcome of a keyed request, appended with its effects."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from events.base import Event, event


@event
@dataclass(frozen=True)
class RequestCompleted(Event):
    TOPIC = "requests.RequestCompleted.v1"
    key: str
    fingerprint: str
    status: int
    body: Any
