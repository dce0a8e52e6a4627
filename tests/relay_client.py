"""A Relay, as far as the server can tell: keys and signatures from Relay's own library."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask.testing import FlaskClient
from sentry_relay import SecretKey, generate_key_pair


def sign_at(key: SecretKey, body: bytes, when: datetime) -> str:
    """A signature as ``key.sign(body)`` makes it, but dated ``when`` (Relay's format:
    ``base64url(ed25519 over header + NUL + body).base64url(header)``, header ``{"t": RFC 3339}``)."""
    seed = str(key)
    private = Ed25519PrivateKey.from_private_bytes(base64.urlsafe_b64decode(seed + "=" * (-len(seed) % 4)))
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"
    header = json.dumps({"t": stamp}, separators=(",", ":")).encode()
    encode = lambda raw: base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    return f"{encode(private.sign(header + bytes(1) + body))}.{encode(header)}"


class RelayClient:
    def __init__(self, client: FlaskClient, version: str = "25.11.1") -> None:
        self.client = client
        self.secret, self.public = generate_key_pair()
        self.relay_id = str(uuid.uuid4())
        self.version = version

    def signed(self, path: str, payload: Any, key: SecretKey | None = None, **headers: str) -> Any:
        body = json.dumps(payload).encode()
        return self.post_raw(path, body, (key or self.secret).sign(body), **headers)

    def post_raw(self, path: str, body: bytes, signature: str, **headers: str) -> Any:
        return self.client.post(
            path,
            data=body,
            headers={
                "X-Sentry-Relay-Id": self.relay_id,
                "X-Sentry-Relay-Signature": signature,
                "Content-Type": "application/json",
                **headers,
            },
        )

    def register(self) -> Any:
        challenge = self.signed(
            "/api/0/relays/register/challenge/",
            {"relay_id": self.relay_id, "public_key": str(self.public), "version": self.version},
        )
        assert challenge.status_code == 200, challenge.get_json()
        token = challenge.get_json()["token"]
        return self.signed(
            "/api/0/relays/register/response/",
            {"relay_id": self.relay_id, "token": token, "version": self.version},
        )

    def project_configs(self, payload: dict[str, Any], version: int = 3, **headers: str) -> Any:
        return self.signed(f"/api/0/relays/projectconfigs/?version={version}", payload, **headers)
