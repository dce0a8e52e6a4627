"""Idempotent requests: the first outcome of a keyed request, appended with its effects.

Version 2 keeps a large response by reference: ``body`` is None, ``digest`` is the SHA-256 of
its canonical JSON, and ``read_versions`` are the versions of the streams the decision was made
on, so that a replay decides the same command on the same states again and renders the same
response (deciders are pure). Small responses (and those of commands that draw fresh ids) are
kept inline, as version 1 kept every response.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from events.base import Event, event, upcaster


@event
@dataclass(frozen=True)
class RequestCompleted(Event):
    TOPIC = "requests.RequestCompleted.v2"
    key: str
    fingerprint: str
    status: int
    body: Any
    digest: str = ""  # set: the body is not stored, only its digest
    read_versions: tuple[tuple[str, int], ...] = ()  # (stream, version) the decision read


@upcaster("requests.RequestCompleted.v1", "requests.RequestCompleted.v2")
def _inline(payload: dict[str, Any]) -> dict[str, Any]:
    return payload  # every v1 response is inline; the new fields keep their defaults
