"""Relay authentication: ``X-Sentry-Relay-Id`` plus an ed25519 signature over the exact body,
verified with Relay's own library. A signature is accepted once: replays are refused."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

from flask import g, request
from sentry_relay.auth import PublicKey

from api.context import services
from api.errors import detail
from commands.relays import RelayState
from events import streams

MAX_AGE = 300


@dataclass(frozen=True)
class AuthenticatedRelay:
    relay_id: str
    public_key: str
    internal: bool


def relay_id_header() -> str:
    raw = request.headers.get("X-Sentry-Relay-Id", "")
    try:
        uuid.UUID(raw)
    except ValueError:
        raise detail(401, "Invalid relay ID") from None
    return raw


def registered_relay(relay_id: str) -> RelayState:
    """The relay's state, read from its own stream (consistent, unlike a view)."""
    return RelayState.fold(r.event for r in services().store.read_stream(streams.relay(relay_id)))


def is_internal(public_key: str, registered_internal: bool = False) -> bool:
    return registered_internal or public_key in services().settings.internal_relays


def authenticate_relay() -> tuple[AuthenticatedRelay, Any]:
    """The calling relay and its verified JSON body; 401 with Sentry's messages otherwise."""
    relay_id = relay_id_header()
    signature = request.headers.get("X-Sentry-Relay-Signature")
    if not signature:
        raise detail(401, "Missing relay signature")
    svc = services()
    state = registered_relay(relay_id)
    if not state.exists:
        raise detail(401, "Unknown relay")
    body = request.get_data()
    if not PublicKey.parse(state.public_key).verify(body, signature, max_age=MAX_AGE):
        raise detail(401, "Invalid relay signature")
    # Relay signs every request afresh (the header holds a nanosecond timestamp), so a
    # signature seen before within its lifetime can only be a replay.
    seen = f"relaysig:{hashlib.sha256(signature.encode()).hexdigest()}"
    if not svc.redis.set(seen, 1, nx=True, ex=MAX_AGE + 5):
        raise detail(401, "Invalid relay signature")
    try:
        data = json.loads(body) if body else {}
    except ValueError:
        raise detail(400, "No valid json body") from None
    relay = AuthenticatedRelay(relay_id, state.public_key, is_internal(state.public_key, state.internal))
    g.relay = relay
    return relay, data
