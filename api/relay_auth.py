"""Relay authentication: ``X-Sentry-Relay-Id`` plus an ed25519 signature over the exact body,
verified with Relay's own library. A signature is accepted once: replays are refused for as
long as the signature could be valid."""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import request
from sentry_relay.auth import PublicKey

from api.context import services
from api.errors import detail
from api.screen import parsed_body
from commands.relays import RelayState
from events import streams
from infra.bootstrap import Services

MAX_AGE = 300  # Sentry's RelayAuthentication: unpack(body, signature, max_age=60 * 5)
# sentry_relay refuses a signature dated more than 15 s ahead of the clock (measured on 0.10.1);
# we check the same bound ourselves, so that the replay marker below outlives every signature.
MAX_FUTURE_SKEW = 15
# A signature is valid until its date + MAX_AGE, and its date may be up to MAX_FUTURE_SKEW ahead
# of ours: its marker lives that long, plus a little for the clocks of several API servers.
REPLAY_MARKER_SECONDS = MAX_AGE + MAX_FUTURE_SKEW + 5


@dataclass(frozen=True)
class AuthenticatedRelay:
    relay_id: str
    public_key: str
    internal: bool
    # The Redis key that marks this signed message as seen (see ``authenticate_relay``).
    replay_marker: str = ""


def checked_relay_id(raw: str) -> str:
    try:
        uuid.UUID(raw)
    except ValueError:
        raise detail(401, "Invalid relay ID") from None
    return raw


def registered_relay(relay_id: str, svc: Services | None = None) -> RelayState:
    """The relay's state, read from its own stream (consistent, unlike a view), kept for the
    lookup caches' lifetime once it exists (infra/lookups.py): a relay's public key never
    changes once registered, and this process's own writes to relays drop the cache."""
    svc = svc or services()
    state: RelayState | None = svc.lookups.relays.get(relay_id)
    if state is None:
        state = RelayState.fold(r.event for r in svc.store.read_stream(streams.relay(relay_id)))
        if state.exists:  # an unknown relay is looked up again next time
            svc.lookups.relays.put(relay_id, state)
    return state


def is_internal(public_key: str, registered_internal: bool = False, svc: Services | None = None) -> bool:
    return registered_internal or public_key in (svc or services()).settings.internal_relays


def authenticate_relay(claim: bool = True) -> tuple[AuthenticatedRelay, Any]:
    """The calling relay and its verified JSON body; 401 with Sentry's messages otherwise.
    ``claim=False`` leaves marking the message as seen to the caller, who must do it (``claim``
    or ``claim_command``) and check it before answering anything but an error: a route can
    then send the marker in one round trip with its own reads."""
    svc = services()
    body = request.get_data()
    relay_id = request.headers.get("X-Sentry-Relay-Id", "")
    relay = verified_relay(svc, relay_id, request.headers.get("X-Sentry-Relay-Signature"), body)
    if claim:
        refuse_replay(claim_command(svc.redis, relay.replay_marker))
    try:
        data = parsed_body(body) if body else {}  # the screen's parser: also past its size
    except ValueError:
        raise detail(400, "No valid json body") from None
    return relay, data


def verified_relay(svc: Services, relay_id: str, signature: str | None, body: bytes) -> AuthenticatedRelay:
    """The relay that signed ``body`` (the values of ``X-Sentry-Relay-Id`` and
    ``X-Sentry-Relay-Signature``), not yet marked as seen; 401 in Sentry's words otherwise,
    checked in its order. No request context: ``api.lean`` calls it too."""
    checked_relay_id(relay_id)
    if not signature:
        raise detail(401, "Missing relay signature")
    state = registered_relay(relay_id, svc)
    if not state.exists:
        raise detail(401, "Unknown relay")
    if not _parsed_key(state.public_key).verify(body, signature, max_age=MAX_AGE):
        raise detail(401, "Invalid relay signature")
    header = signed_header(signature)
    if header is None or not _dated_within_skew(header):
        raise detail(401, "Invalid relay signature")
    marker = replay_marker(state.public_key, header, body)
    internal = is_internal(state.public_key, state.internal, svc)
    return AuthenticatedRelay(relay_id, state.public_key, internal, marker)


@functools.lru_cache(maxsize=1024)
def _parsed_key(public_key: str) -> PublicKey:
    """A registered relay's key, parsed once per process (a key never changes once registered)."""
    return PublicKey.parse(public_key)


def claim_command(redis: Any, marker: str) -> Any:
    """Mark a signed message as seen, on a client or a pipeline: true when it was not seen yet.
    Relay signs every request afresh (the header holds a nanosecond timestamp), so a message
    seen before within its signature's lifetime can only be a replay."""
    return redis.execute_command(*claim_args(marker))


def claim_args(marker: str) -> tuple[str | int, ...]:
    """``claim_command`` as the arguments of its Redis command, for a caller that sends it
    with others (its raw reply: ``OK`` when the message was not seen yet, else none)."""
    return ("SET", marker, 1, "NX", "EX", REPLAY_MARKER_SECONDS)


def refuse_replay(claimed: Any) -> None:
    """401 unless ``claim_command`` answered that the message is new."""
    if not claimed:
        raise detail(401, "Invalid relay signature")


def signed_header(signature: str) -> bytes | None:
    """The signed header of ``base64url(ed25519 signature).base64url(header JSON)``."""
    _, _, encoded = signature.partition(".")
    try:
        return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except (binascii.Error, ValueError):
        return None


def _dated_within_skew(header: bytes) -> bool:
    """Whether the header's date (``{"t": RFC 3339}``) is at most MAX_FUTURE_SKEW ahead of now."""
    try:
        signed_at = datetime.fromisoformat(json.loads(header)["t"])
    except (ValueError, KeyError, TypeError, RecursionError):
        return False
    if signed_at.tzinfo is None:
        return False
    return signed_at <= datetime.now(UTC) + timedelta(seconds=MAX_FUTURE_SKEW)


def replay_marker(public_key: str, header: bytes, body: bytes) -> str:
    """The Redis key that marks a signed message as seen: the message itself (header and body,
    under this key), so another encoding of the same signature cannot pass for a new one."""
    digest = hashlib.sha256(public_key.encode() + b"\0" + header + b"\0" + body).hexdigest()
    return f"relaysig:{digest}"
