"""A Relay, as far as the server can tell: keys and signatures from Relay's own library."""

from __future__ import annotations

import json
import uuid
from typing import Any

from flask.testing import FlaskClient
from sentry_relay import SecretKey, generate_key_pair


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
