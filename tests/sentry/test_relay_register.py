"""Port of Sentry's tests/sentry/api/endpoints/test_relay_register.py.

Sentry version: getsentry/sentry at 008027ab8b22fc40f4ff5957c3db756d15e39fac.
Bodies are signed with Relay's own library (``SecretKey.pack``), as Sentry's tests do.
Sentry reads the ``Relay`` row back after registering; here a registered relay is one whose
signed project-config request is accepted (an unknown relay gets 401).
Left out: ``test_multiple_relay_versions_tracked`` and ``test_relay_usage_is_updated_at_registration``
(``RelayUsage`` first/last-seen times are not served by any route, and comparing them with the
clock is a timing assertion); ``test_no_db_for_static_relays`` (counts database queries, and
``relay.static_auth`` is not an option eventry has).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient
from sentry_relay import PublicKey, SecretKey, generate_key_pair

CHALLENGE = "/api/0/relays/register/challenge/"
RESPONSE = "/api/0/relays/register/response/"


class Keys:
    def __init__(self) -> None:
        self.private_key, self.public_key = generate_key_pair()
        self.relay_id = str(uuid.uuid4())


@pytest.fixture
def keys() -> Keys:
    return Keys()


def post(
    client: FlaskClient,
    path: str,
    raw_json: bytes | str,
    relay_id: str | None = None,
    signature: str | None = None,
) -> Any:
    headers = {}
    if relay_id is not None:
        headers["X-Sentry-Relay-Id"] = relay_id
    if signature is not None:
        headers["X-Sentry-Relay-Signature"] = signature
    return client.post(path, data=raw_json, content_type="application/json", headers=headers)


def pack(private_key: SecretKey, data: dict[str, Any]) -> tuple[bytes, str]:
    raw: bytes
    raw, signature = private_key.pack(data)
    return raw, signature


def register_relay(
    client: FlaskClient, key_pair: tuple[SecretKey, PublicKey], version: str, relay_id: str
) -> None:
    private_key, public_key = key_pair
    raw_json, signature = pack(
        private_key, {"public_key": str(public_key), "relay_id": relay_id, "version": version}
    )
    resp = post(client, CHALLENGE, raw_json, relay_id, signature)
    assert resp.status_code == 200, resp.get_json()
    result = resp.get_json()
    raw_json, signature = pack(
        private_key, {"token": str(result.get("token")), "relay_id": relay_id, "version": version}
    )
    resp = post(client, RESPONSE, raw_json, relay_id, signature)
    assert resp.status_code == 200, resp.get_json()


def is_registered(client: FlaskClient, keys: Keys) -> bool:
    """A relay the server knows: its signed request is authenticated (401 for an unknown one)."""
    raw_json, signature = pack(keys.private_key, {"publicKeys": []})
    resp = post(client, "/api/0/relays/projectconfigs/?version=2", raw_json, keys.relay_id, signature)
    return resp.status_code != 401


def challenge(client: FlaskClient, keys: Keys) -> Any:
    raw_json, signature = pack(
        keys.private_key, {"public_key": str(keys.public_key), "relay_id": keys.relay_id}
    )
    return post(client, CHALLENGE, raw_json, keys.relay_id, signature)


def test_relay_register__test_valid_register(client: FlaskClient, keys: Keys) -> None:
    """Sentry: RelayRegisterTest.test_valid_register"""
    resp = challenge(client, keys)
    assert resp.status_code == 200, resp.get_json()


def test_relay_register__test_register_missing_relay_id(client: FlaskClient, keys: Keys) -> None:
    """Sentry: RelayRegisterTest.test_register_missing_relay_id"""
    raw_json, signature = pack(keys.private_key, {"public_key": str(keys.public_key)})
    resp = post(client, CHALLENGE, raw_json, keys.relay_id, signature)
    assert resp.status_code == 400, resp.get_json()


def test_relay_register__test_register_missing_public_key(client: FlaskClient, keys: Keys) -> None:
    """Sentry: RelayRegisterTest.test_register_missing_public_key"""
    raw_json, signature = pack(keys.private_key, {"relay_id": keys.relay_id})
    resp = post(client, CHALLENGE, raw_json, keys.relay_id, signature)
    assert resp.status_code == 400, resp.get_json()


def test_relay_register__test_register_invalid_body(client: FlaskClient, keys: Keys) -> None:
    """Sentry: RelayRegisterTest.test_register_invalid_body"""
    resp = post(client, CHALLENGE, "a", keys.relay_id)
    assert resp.status_code == 400, resp.get_json()


def test_relay_register__test_register_missing_header(client: FlaskClient, keys: Keys) -> None:
    """Sentry: RelayRegisterTest.test_register_missing_header"""
    raw_json, _ = pack(keys.private_key, {"public_key": str(keys.public_key), "relay_id": keys.relay_id})
    resp = post(client, CHALLENGE, raw_json, keys.relay_id)
    assert resp.status_code == 400, resp.get_json()


def test_relay_register__test_register_missing_header2(client: FlaskClient, keys: Keys) -> None:
    """Sentry: RelayRegisterTest.test_register_missing_header2"""
    raw_json, signature = pack(
        keys.private_key, {"public_key": str(keys.public_key), "relay_id": keys.relay_id}
    )
    resp = post(client, CHALLENGE, raw_json, signature=signature)
    assert resp.status_code == 400, resp.get_json()


def test_relay_register__test_register_wrong_sig(client: FlaskClient, keys: Keys) -> None:
    """Sentry: RelayRegisterTest.test_register_wrong_sig"""
    raw_json, signature = pack(
        keys.private_key, {"public_key": str(keys.public_key), "relay_id": keys.relay_id}
    )
    resp = post(client, CHALLENGE, raw_json, keys.relay_id, signature + "a")
    assert resp.status_code == 400, resp.get_json()


def test_relay_register__test_valid_register_response(client: FlaskClient, keys: Keys) -> None:
    """Sentry: RelayRegisterTest.test_valid_register_response"""
    resp = challenge(client, keys)
    assert resp.status_code == 200, resp.get_json()
    raw_json, signature = pack(keys.private_key, resp.get_json())
    resp = post(client, RESPONSE, raw_json, keys.relay_id, signature)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["relay_id"] == keys.relay_id
    assert is_registered(client, keys)


def test_relay_register__test_forge_public_key(client: FlaskClient, keys: Keys) -> None:
    """Sentry: RelayRegisterTest.test_forge_public_key"""
    resp = challenge(client, keys)
    assert resp.status_code == 200, resp.get_json()
    raw_json, signature = pack(keys.private_key, resp.get_json())
    post(client, RESPONSE, raw_json, keys.relay_id, signature)

    other_private, other_public = generate_key_pair()
    raw_json, signature = pack(other_private, {"public_key": str(other_public), "relay_id": keys.relay_id})
    resp = post(client, CHALLENGE, raw_json, keys.relay_id, signature)
    assert resp.status_code == 400, resp.get_json()


def test_relay_register__test_public_key_mismatch(client: FlaskClient, keys: Keys) -> None:
    """Sentry: RelayRegisterTest.test_public_key_mismatch"""
    resp = challenge(client, keys)
    assert resp.status_code == 200, resp.get_json()
    result = resp.get_json()
    raw_json, signature = pack(keys.private_key, result)
    post(client, RESPONSE, raw_json, keys.relay_id, signature)

    other_private, _ = generate_key_pair()
    raw_json, signature = pack(other_private, {"token": str(result.get("token")), "relay_id": keys.relay_id})
    resp = post(client, RESPONSE, raw_json, keys.relay_id, signature)
    assert resp.status_code == 400, resp.get_json()


def test_relay_register__test_forge_public_key_on_register(client: FlaskClient, keys: Keys) -> None:
    """Sentry: RelayRegisterTest.test_forge_public_key_on_register"""
    raw_json, signature = pack(
        keys.private_key, {"public_key": str(keys.public_key), "relay_id": keys.relay_id}
    )
    resp = post(client, CHALLENGE, raw_json, keys.relay_id, signature)
    result = resp.get_json()
    resp = post(client, CHALLENGE, raw_json, keys.relay_id, signature)
    assert resp.status_code == 200, resp.get_json()

    other_private, _ = generate_key_pair()
    raw_json, signature = pack(other_private, {"token": str(result.get("token")), "relay_id": keys.relay_id})
    resp = post(client, RESPONSE, raw_json, keys.relay_id, signature)
    assert resp.status_code == 400, resp.get_json()


def test_relay_register__test_invalid_json_response(client: FlaskClient, keys: Keys) -> None:
    """Sentry: RelayRegisterTest.test_invalid_json_response"""
    resp = challenge(client, keys)
    assert resp.status_code == 200, resp.get_json()
    _, signature = pack(keys.private_key, resp.get_json())
    resp = post(client, RESPONSE, "a", keys.relay_id, signature)
    assert resp.status_code == 400, resp.get_json()


def test_relay_register__test_missing_token_response(client: FlaskClient, keys: Keys) -> None:
    """Sentry: RelayRegisterTest.test_missing_token_response"""
    resp = challenge(client, keys)
    assert resp.status_code == 200, resp.get_json()
    result = resp.get_json()
    del result["token"]
    raw_json, signature = pack(keys.private_key, result)
    resp = post(client, RESPONSE, raw_json, keys.relay_id, signature)
    assert resp.status_code == 400, resp.get_json()


def test_relay_register__test_missing_sig_response(client: FlaskClient, keys: Keys) -> None:
    """Sentry: RelayRegisterTest.test_missing_sig_response"""
    resp = challenge(client, keys)
    assert resp.status_code == 200, resp.get_json()
    raw_json, _ = pack(keys.private_key, resp.get_json())
    resp = post(client, RESPONSE, raw_json, keys.relay_id)
    assert resp.status_code == 400, resp.get_json()


def test_relay_register__test_relay_id_mismatch_response(client: FlaskClient, keys: Keys) -> None:
    """Sentry: RelayRegisterTest.test_relay_id_mismatch_response"""
    resp = challenge(client, keys)
    assert resp.status_code == 200, resp.get_json()
    raw_json, signature = pack(keys.private_key, resp.get_json())
    resp = post(client, RESPONSE, raw_json, str(uuid.uuid4()), signature)
    assert resp.status_code == 400, resp.get_json()


def test_relay_register__test_valid_register_response_twice(client: FlaskClient, keys: Keys) -> None:
    """Sentry: RelayRegisterTest.test_valid_register_response_twice"""
    test_relay_register__test_valid_register_response(client, keys)
    test_relay_register__test_valid_register_response(client, keys)


def test_relay_register__test_old_relays_can_register(client: FlaskClient, keys: Keys) -> None:
    """Sentry: RelayRegisterTest.test_old_relays_can_register"""
    raw_json, signature = pack(
        keys.private_key, {"public_key": str(keys.public_key), "relay_id": keys.relay_id, "version": "1.0.0"}
    )
    resp = post(client, CHALLENGE, raw_json, keys.relay_id, signature)
    assert resp.status_code == 200, resp.get_json()
    result = resp.get_json()
    raw_json, signature = pack(keys.private_key, result)
    post(client, RESPONSE, raw_json, keys.relay_id, signature)

    raw_json, signature = pack(
        keys.private_key, {"token": str(result.get("token")), "relay_id": keys.relay_id}
    )
    resp = post(client, RESPONSE, raw_json, keys.relay_id, signature)
    assert resp.status_code == 200, resp.get_json()


def test_relay_register__test_relay_usage_is_updated_at_registration(client: FlaskClient) -> None:
    """Sentry: RelayRegisterTest.test_relay_usage_is_updated_at_registration, the registrations
    only (the ``RelayUsage`` times it then compares are not served by any route)."""
    key_pair = generate_key_pair()
    relay_id = str(uuid.uuid4())
    register_relay(client, key_pair, "1.1.1", relay_id)
    register_relay(client, key_pair, "2.2.2", relay_id)
    register_relay(client, key_pair, "1.1.1", relay_id)
