"""/metrics: label values a client cannot grow, and an optional bearer token."""

from __future__ import annotations

import dataclasses
import re
import secrets
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from api.app import create_app
from infra.bootstrap import bootstrap, migrate
from infra.config import Settings

SERIES = re.compile(r"^eventry_http_request_seconds_count\{(.*)\}", re.MULTILINE)
KNOWN_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"}


def request_series(client: FlaskClient) -> set[str]:
    return set(SERIES.findall(client.get("/metrics").get_data(as_text=True)))


def methods(series: set[str]) -> set[str]:
    return {m.group(1) for labels in series if (m := re.search(r'method="([^"]*)"', labels))}


def test_made_up_methods_add_no_series_beyond_other(client: FlaskClient) -> None:
    before = request_series(client)
    for _ in range(60):
        method = "X" + secrets.token_hex(6).upper()
        assert client.open("/healthz", method=method).status_code == 405
        assert client.open(f"/nothing-{secrets.token_hex(4)}/", method=method).status_code == 404
    added = request_series(client) - before
    assert methods(added) <= {"other", "GET"}  # GET: the /metrics scrapes themselves
    assert len(added) <= 3, added
    assert methods(request_series(client)) <= KNOWN_METHODS | {"other"}


@pytest.fixture
def guarded(settings: Settings) -> Iterator[tuple[FlaskClient, str]]:
    token = secrets.token_urlsafe(24)
    settings = dataclasses.replace(settings, metrics_token=token)
    migrate(settings)
    services = bootstrap(settings, create_tables=False)
    yield create_app(services).test_client(), token
    services.close()


def test_metrics_token_is_required_when_set(guarded: tuple[FlaskClient, str]) -> None:
    client, token = guarded
    r = client.get("/metrics")
    assert r.status_code == 401
    assert r.get_json() == {"detail": "Authentication credentials were not provided."}
    for header in (f"Bearer {token}x", f"Basic {token}", "Bearer ", token):
        r = client.get("/metrics", headers={"Authorization": header})
        assert r.status_code == 401 and r.get_json() == {"detail": "Invalid token"}, header
    r = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and "eventry_log_head" in r.get_data(as_text=True)
    assert client.get("/healthz").status_code == 200  # only /metrics is guarded


def test_metrics_are_open_without_a_token(client: FlaskClient) -> None:
    assert client.get("/metrics").status_code == 200
