"""Relay registration and signed requests, with keys and signatures from ``sentry_relay``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from flask.testing import FlaskClient
from sentry_relay import generate_key_pair

from api.relay_auth import replay_marker, signed_header
from commands.relays import RelayState
from events import streams
from infra.bootstrap import Services
from tests.relay_client import RelayClient, sign_at

CHALLENGE = "/api/0/relays/register/challenge/"
RESPONSE = "/api/0/relays/register/response/"


def test_full_challenge_and_response_registers_the_relay(client: FlaskClient, services: Services) -> None:
    relay = RelayClient(client)
    r = relay.register()
    assert r.status_code == 200 and r.get_json() == {"relay_id": relay.relay_id}
    state = RelayState.fold(e.event for e in services.store.read_stream(streams.relay(relay.relay_id)))
    assert state.public_key == str(relay.public) and state.version == "25.11.1" and not state.internal
    head = services.store.head()
    assert relay.register().status_code == 200  # idempotent
    assert services.store.head() == head


def test_challenge_errors(client: FlaskClient) -> None:
    relay = RelayClient(client)
    good = {"relay_id": relay.relay_id, "public_key": str(relay.public), "version": "25.11.1"}
    assert relay.signed(CHALLENGE, {"public_key": str(relay.public)}).status_code == 400
    assert relay.signed(CHALLENGE, {"relay_id": relay.relay_id}).status_code == 400
    r = relay.signed(CHALLENGE, "a")
    assert r.status_code == 400 and r.get_json() == {"detail": "No valid json body"}
    body = json.dumps(good).encode()
    assert client.post(CHALLENGE, data=body, headers={"X-Sentry-Relay-Id": relay.relay_id}).status_code == 400
    assert (
        client.post(
            CHALLENGE, data=body, headers={"X-Sentry-Relay-Signature": relay.secret.sign(body)}
        ).status_code
        == 400
    )
    assert relay.post_raw(CHALLENGE, body, relay.secret.sign(body) + "a").status_code == 400
    other_secret, _ = generate_key_pair()
    assert relay.signed(CHALLENGE, good, key=other_secret).status_code == 400
    r = relay.signed(CHALLENGE, good, **{"X-Sentry-Relay-Id": "0bd4cc08-8d2b-4a8b-9d5b-2c6e3a0e6a11"})
    assert r.status_code == 400 and r.get_json() == {"detail": "relay_id in payload did not match header"}


def test_a_known_relay_cannot_change_its_key(client: FlaskClient) -> None:
    relay = RelayClient(client)
    assert relay.register().status_code == 200
    relay.secret, relay.public = generate_key_pair()
    r = relay.signed(
        CHALLENGE, {"relay_id": relay.relay_id, "public_key": str(relay.public), "version": "1.0.0"}
    )
    assert r.status_code == 400
    assert r.get_json() == {"detail": "Attempted to register agent with a different public key"}


def test_response_errors(client: FlaskClient) -> None:
    relay = RelayClient(client)
    challenge = relay.signed(
        CHALLENGE, {"relay_id": relay.relay_id, "public_key": str(relay.public)}
    ).get_json()
    forged_secret, _ = generate_key_pair()
    payload = {"relay_id": relay.relay_id, "token": challenge["token"], "version": "1.0.0"}
    assert relay.signed(RESPONSE, payload, key=forged_secret).status_code == 400
    edited = {**payload, "token": challenge["token"][:-3] + "abc"}
    assert relay.signed(RESPONSE, edited).status_code == 400


def test_signed_requests(client: FlaskClient) -> None:
    relay = RelayClient(client)
    relay.register()
    live = "/api/0/relays/live/"

    def get(headers: dict[str, str]) -> tuple[int, object]:
        r = client.get(live, headers=headers)
        return r.status_code, r.get_json()

    signature = relay.secret.sign(b"")
    assert get({"X-Sentry-Relay-Id": relay.relay_id, "X-Sentry-Relay-Signature": signature}) == (
        200,
        {"is_healthy": True},
    )
    # the same signature again is a replay
    assert get({"X-Sentry-Relay-Id": relay.relay_id, "X-Sentry-Relay-Signature": signature}) == (
        401,
        {"detail": "Invalid relay signature"},
    )
    assert get({"X-Sentry-Relay-Id": "nope", "X-Sentry-Relay-Signature": signature}) == (
        401,
        {"detail": "Invalid relay ID"},
    )
    assert get({"X-Sentry-Relay-Id": relay.relay_id}) == (401, {"detail": "Missing relay signature"})
    stranger = RelayClient(client)
    assert get(
        {"X-Sentry-Relay-Id": stranger.relay_id, "X-Sentry-Relay-Signature": stranger.secret.sign(b"")}
    ) == (401, {"detail": "Unknown relay"})
    other_secret, _ = generate_key_pair()
    assert get({"X-Sentry-Relay-Id": relay.relay_id, "X-Sentry-Relay-Signature": other_secret.sign(b"")}) == (
        401,
        {"detail": "Invalid relay signature"},
    )


LIVE = "/api/0/relays/live/"
INVALID = (401, {"detail": "Invalid relay signature"})
SENTRY_MAX_AGE = 300  # RelayAuthentication: unpack(..., max_age=60 * 5)


def live(relay: RelayClient, signature: str) -> tuple[int, object]:
    r = relay.client.get(
        LIVE, headers={"X-Sentry-Relay-Id": relay.relay_id, "X-Sentry-Relay-Signature": signature}
    )
    return r.status_code, r.get_json()


def test_an_expired_signature_is_refused(client: FlaskClient) -> None:
    relay = RelayClient(client)
    relay.register()
    now = datetime.now(UTC)
    assert live(relay, sign_at(relay.secret, b"", now - timedelta(seconds=SENTRY_MAX_AGE + 10))) == INVALID
    assert live(relay, sign_at(relay.secret, b"", now - timedelta(seconds=SENTRY_MAX_AGE - 30)))[0] == 200


def test_a_signature_dated_ahead_is_accepted_once_and_only_within_the_skew(client: FlaskClient) -> None:
    relay = RelayClient(client)
    relay.register()
    now = datetime.now(UTC)
    ahead = sign_at(relay.secret, b"", now + timedelta(seconds=12))
    assert live(relay, ahead)[0] == 200
    assert live(relay, ahead) == INVALID
    for seconds in (20, 300, 86400):
        assert live(relay, sign_at(relay.secret, b"", now + timedelta(seconds=seconds))) == INVALID


def test_a_replay_marker_outlives_the_signature_it_marks(client: FlaskClient, services: Services) -> None:
    """A signature dated +15 s stays valid for 315 s: its replay at +308 s must still be refused,
    so the marker that refuses it must live at least as long as the signature."""
    relay = RelayClient(client)
    relay.register()
    for offset in (-290, 0, 14):
        signed_at = datetime.now(UTC) + timedelta(seconds=offset)
        signature = sign_at(relay.secret, b"", signed_at)
        assert live(relay, signature)[0] == 200
        valid_for = (signed_at + timedelta(seconds=SENTRY_MAX_AGE) - datetime.now(UTC)).total_seconds()
        header = signed_header(signature)
        assert header is not None
        assert services.redis.ttl(replay_marker(str(relay.public), header, b"")) >= valid_for
