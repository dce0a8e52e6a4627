"""The lean path of the project config fetch (``api.lean``) answers exactly as the Flask view:
the same requests, signed afresh for each, sent to the app with and without it (its
``__wrapped__``), give the same status, headers, body (but for ``lastFetch``, the time of the
fetch), request log line and Prometheus observation, errors and handed-over requests included."""

from __future__ import annotations

import io
import json
import logging
import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient
from prometheus_client import REGISTRY
from werkzeug.test import Client, TestResponse

from api.lean import _ordinary
from infra.bootstrap import Services
from infra.relay_cache import RelayConfigCache
from tests.conftest import Tenant
from tests.integration.test_relay_configs import add_key, internal  # noqa: F401 (the ``internal`` fixture)
from tests.relay_client import RelayClient

PATH = "/api/0/relays/projectconfigs/"
LAST_FETCH = re.compile(rb'"lastFetch":"[^"]*"')
Send = Callable[[Client, str], TestResponse]


STATUSES = (200, 400, 401, 403, 503)


def answer(response: TestResponse) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body; a fresh request id as ``fresh``, ``lastFetch`` as ``-``."""
    rid = response.headers["X-Request-ID"]
    headers = [
        (k, v if k != "X-Request-ID" or rid.startswith("given") else "fresh")
        for k, v in response.headers.items()
    ]
    return response.status_code, headers, LAST_FETCH.sub(b'"lastFetch":"-"', response.get_data())


def observed(status: int) -> float:
    labels = {"method": "POST", "endpoint": "relay_configs.project_configs", "status": str(status)}
    return REGISTRY.get_sample_value("eventry_http_request_seconds_count", labels) or 0.0


def both(client: FlaskClient, caplog: pytest.LogCaptureFixture, send: Send) -> None:
    """``send`` through the lean path and through Flask alone: the same answer, log line and
    observation."""
    lean = Client(client.application.wsgi_app)
    ordinary = Client(client.application.wsgi_app.__wrapped__)  # type: ignore[attr-defined]
    seen = []
    for side, wsgi in (("lean", lean), ("ordinary", ordinary)):
        caplog.clear()
        before = {status: observed(status) for status in STATUSES}
        with caplog.at_level(logging.INFO, logger="eventry.http"):
            response = send(wsgi, side)
        counted = {status: observed(status) - before[status] for status in STATUSES}
        [line] = [r for r in caplog.records if r.name == "eventry.http"]
        fields = dict(line.fields)  # type: ignore[attr-defined]
        assert fields.pop("request_id") == response.headers["X-Request-ID"]
        assert fields.pop("ms") >= 0
        seen.append((answer(response), fields, counted))
    assert seen[0] == seen[1]


def post(relay: RelayClient, query: str, body: bytes, signature: str | None = "sign", **headers: str) -> Send:
    def send(wsgi: Client, side: str) -> TestResponse:
        sent = {"X-Sentry-Relay-Id": relay.relay_id, "Content-Type": "application/json", **headers}
        if signature == "sign":
            sent["X-Sentry-Relay-Signature"] = relay.secret.sign(body)
        elif signature is not None:
            sent["X-Sentry-Relay-Signature"] = signature
        return wsgi.post(f"{PATH}?{query}" if query else PATH, data=body, headers=sent)

    return send


def payload(**fields: Any) -> bytes:
    return json.dumps(fields).encode()


def test_fetches_and_refusals_are_answered_alike(
    client: FlaskClient,
    services: Services,
    internal: RelayClient,  # noqa: F811 (the fixture)
    tenant: Tenant,
    caplog: pytest.LogCaptureFixture,
) -> None:
    keys = [add_key(client, tenant) for _ in range(3)]
    external = RelayClient(client)
    assert external.register().status_code == 200
    assert services.engine.wait(services.store.head(), ["relay_configs"], timeout=60)  # no ``pending``
    first = internal.project_configs({"publicKeys": keys, "fullConfig": True}).get_json()
    rev = first["configs"][keys[0]]["rev"]
    unknown = uuid.uuid4().hex
    cases = [
        post(internal, "version=3", payload(publicKeys=keys, fullConfig=True)),
        post(internal, "version=3", payload(publicKeys=keys, fullConfig=True, **{"global": True})),
        post(internal, "version=2", payload(publicKeys=[*keys, unknown])),
        post(internal, "version=3", payload(publicKeys=[unknown, *keys], fullConfig=True, noCache=True)),
        post(internal, "version=3", payload(publicKeys=keys, revisions=[rev, None, "x"], fullConfig=True)),
        post(internal, "version=3", payload(publicKeys=['we"ird', "ключ"], fullConfig=True)),
        post(internal, "version=3", payload(publicKeys=keys), X_Request_ID="given-id-1"),
        post(internal, "version=3", payload(publicKeys=[])),
        post(internal, "version=3", payload()),
        post(internal, "version=1", payload(projects=[tenant.project_id])),  # handed over
        post(internal, "version=4", payload(publicKeys=keys)),  # handed over: 400
        post(internal, "", payload(publicKeys=keys)),  # version 1 by default
        post(internal, "version=3&x=1", payload(publicKeys=keys)),
        post(internal, "version=3", payload(publicKeys="abc")),
        post(internal, "version=3", payload(publicKeys=[1, 2])),
        post(internal, "version=3", b"[1, 2]"),
        post(internal, "version=3", b"not json"),  # handed over: 401 checks first, then 400
        post(internal, "version=3", b'{"publicKeys": [NaN]}'),  # the screen's 400
        post(internal, "version=3", b'{"publicKeys": ["\\u0000"]}'),
        post(internal, "version=3", b""),
        post(internal, "version=3", payload(publicKeys=keys), signature=None),
        post(internal, "version=3", payload(publicKeys=keys), signature="bad.signature"),
        post(internal, "version=3", payload(publicKeys=keys), X_Sentry_Relay_Id="not-a-uuid"),
        post(RelayClient(client), "version=3", payload(publicKeys=keys)),  # unknown relay
        post(external, "version=3", payload(publicKeys=keys)),  # 403: not internal
        post(internal, "version=3", payload(publicKeys=keys), X_Other="caf\xe9"),  # handed over
    ]
    for send in cases:
        both(client, caplog, send)


def test_a_replay_is_refused_on_either_path(
    client: FlaskClient,
    services: Services,
    internal: RelayClient,  # noqa: F811 (the fixture)
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The second sending of one signed message is refused, whichever path served the first."""
    assert services.engine.wait(services.store.head(), ["relay_configs"], timeout=60)  # no ``pending``
    body = payload(publicKeys=["a" * 32], fullConfig=True)
    signatures: dict[str, str] = {}

    def replay(wsgi: Client, side: str) -> TestResponse:
        signature = signatures.setdefault(side, internal.secret.sign(body))
        return post(internal, "version=3", body, signature)(wsgi, side)

    both(client, caplog, replay)  # first sendings: 200
    both(client, caplog, replay)  # second: 401
    lean = Client(client.application.wsgi_app)
    ordinary = Client(client.application.wsgi_app.__wrapped__)  # type: ignore[attr-defined]
    crossed = post(internal, "version=3", body, signatures["ordinary"])(lean, "lean")
    assert crossed.status_code == 401
    assert post(internal, "version=3", body, signatures["lean"])(ordinary, "ordinary").status_code == 401


def test_an_outage_after_the_marker_is_a_503_on_either_path(
    client: FlaskClient,
    internal: RelayClient,  # noqa: F811 (the fixture)
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def down(*args: Any, **kwargs: Any) -> Any:
        raise redis.ConnectionError("down")

    monkeypatch.setattr(RelayConfigCache, "read_after", down)
    both(client, caplog, post(internal, "version=3", payload(publicKeys=["a" * 32], fullConfig=True)))


def test_only_ordinary_requests_take_the_lean_path() -> None:
    """What ``api.lean`` leaves to Flask, the body put back for it to read."""

    def environ(body: bytes = b'{"publicKeys": []}', **extra: str) -> dict[str, Any]:
        return {
            "wsgi.input": io.BytesIO(body),
            "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": "application/json",
            "HTTP_X_SENTRY_RELAY_ID": "x",
            **extra,
        }

    ordinary = environ()
    call = _ordinary(ordinary, 1 << 20)
    assert call is not None and call.data == {"publicKeys": []}
    assert ordinary["wsgi.input"].read() == b'{"publicKeys": []}'
    for odd in (
        environ(CONTENT_LENGTH="\xb2"),  # a digit to str.isdigit, not to int()
        environ(CONTENT_LENGTH=""),
        environ(CONTENT_LENGTH="-1"),
        environ(CONTENT_LENGTH=" 18"),
        environ(CONTENT_LENGTH="19"),  # more than arrives
        environ(b"x" * 64, CONTENT_LENGTH="64"),  # not JSON
        environ(b'{"a": NaN}'),  # refused by the screen's parser
        environ(b""),
        environ(HTTP_TRANSFER_ENCODING="chunked"),
        environ(CONTENT_TYPE="multipart/form-data; boundary=x"),
        environ(HTTP_X_OTHER="caf\xe9"),
    ):
        sent = odd["wsgi.input"].getvalue()
        assert _ordinary(odd, 1 << 20) is None, odd
        assert odd["wsgi.input"].read() == sent
    assert _ordinary(environ(), 10) is None  # as large as the app's collector pause, or larger
