"""Defects schemathesis found (``tests/integration/test_fuzz_api.py``), each pinned here."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from api.context import NULL_CHARACTERS
from api.release_schemas import DATETIME_INVALID
from infra.bootstrap import Services
from tests.conftest import Tenant
from tests.relay_client import RelayClient

BLOCK_TAGS = {"operationType": "blockTags", "metricMri": "c:custom/x@none"}
UNSUPPORTED = "Relay version no longer supported, please upgrade to a more recent version"


@pytest.mark.parametrize("version", ["1.0", "abc", "\x1d\xe7", 5, ["25.11.1"]])
def test_a_relay_version_relay_cannot_parse_is_an_unsupported_one(client: FlaskClient, version: Any) -> None:
    """``is_version_supported`` raises on what it cannot parse: that was a 500."""
    relay = RelayClient(client)
    r = relay.signed(
        "/api/0/relays/register/challenge/",
        {"relay_id": relay.relay_id, "public_key": str(relay.public), "version": version},
    )
    assert (r.status_code, r.get_json()) == (403, {"detail": UNSUPPORTED})


def test_a_supported_relay_version_still_registers(client: FlaskClient) -> None:
    assert RelayClient(client, version="25.11.1").register().status_code == 200


def _requests(t: Tenant) -> list[tuple[str, str, dict[str, Any]]]:
    org, project = f"/api/0/organizations/{t.org_slug}", f"/api/0/projects/{t.org_slug}/{t.project_slug}"
    return [
        ("PUT", project + "/", {"json": {"options": {"mail:subject_prefix": "a\x00b"}}}),
        ("PUT", project + "/", {"json": {"name": "nul\x00name"}}),
        ("POST", project + "/keys/", {"json": {"name": "k\x00"}}),
        ("PUT", project + "/metrics/visibility/", {"json": {**BLOCK_TAGS, "tags": ["a\x00"]}}),
        ("PUT", org + "/", {"json": {"trustedRelays": [{"name": "r\x00", "publicKey": "x"}]}}),
        ("POST", project + "/releases/", {"json": {"version": "1.0", "ref": "\x00"}}),
        ("POST", project + "/issues/", {"json": {"title": "\x00"}}),
        ("GET", org + "/releases/", {"query_string": {"query": "a\x00"}}),
        ("GET", org + "/repos/", {"query_string": {"query": "\x00"}}),
        ("GET", f"/api/0/organizations/{t.org_slug}/releases/a%00b/", {}),
        ("GET", "/api/0/organizations/%00/", {}),
    ]  # fmt: skip


def test_null_characters_are_refused_before_they_reach_the_log_or_a_query(
    client: FlaskClient, services: Services, tenant: Tenant
) -> None:
    """PostgreSQL text holds no NUL: a lookup with one was a 500, and an event with one stopped
    every view of the worker for good (the batch failed on each retry)."""
    head = services.store.head()
    for method, path, kwargs in _requests(tenant):
        r = client.open(path, method=method, headers=tenant.headers(), **kwargs)
        assert (r.status_code, r.get_json()) == (400, {"detail": NULL_CHARACTERS}), (method, path)
    assert services.store.head() == head  # nothing appended
    r = client.put(
        f"/api/0/projects/{tenant.org_slug}/{tenant.project_slug}/",
        json={"options": {"mail:subject_prefix": "a\\u0000b"}},  # a backslash, not a NUL
        headers=tenant.headers(),
    )
    assert r.status_code == 200, r.get_json()
    services.engine.catch_up_all()
    assert min(services.engine.positions().values()) == services.store.head()


def test_null_characters_in_a_relay_request_are_refused(client: FlaskClient) -> None:
    relay = RelayClient(client)
    assert relay.register().status_code == 200
    r = relay.project_configs({"publicKeys": ["a\x00b"]})
    assert (r.status_code, r.get_json()) == (400, {"detail": NULL_CHARACTERS})


@pytest.mark.parametrize("nested", ["[" * 100_000 + "]" * 100_000, '{"a":' * 5000 + '"\\u0000"' + "}" * 5000])
def test_json_nested_beyond_the_parser_is_a_400(client: FlaskClient, tenant: Tenant, nested: str) -> None:
    """The parser raises ``RecursionError`` (not ``ValueError``) past ~1000 levels: that was a 500."""
    project = f"/api/0/projects/{tenant.org_slug}/{tenant.project_slug}"
    for method, path in (("PUT", project + "/metrics/visibility/"), ("PUT", project + "/"),
                         ("POST", "/api/0/relays/register/challenge/")):  # fmt: skip
        r = client.open(
            path, method=method, data=nested, content_type="application/json", headers=tenant.headers()
        )
        assert (r.status_code, r.get_json()) == (400, {"detail": "Malformed JSON request body"}), path


def test_deep_but_readable_json_still_reaches_the_route(client: FlaskClient, tenant: Tenant) -> None:
    deep = {"operationType": "blockMetric", "metricMri": "c:custom/x@none", "extra": [[[]]] * 300}
    r = client.put(
        f"/api/0/projects/{tenant.org_slug}/{tenant.project_slug}/metrics/visibility/",
        json=deep,
        headers=tenant.headers(),
    )
    assert r.status_code == 200, r.get_json()


@pytest.mark.parametrize("value", ["abc", [1], {"a": 1}, "1e400", 1.5])
def test_a_resolve_age_that_is_no_integer_is_refused(client: FlaskClient, tenant: Tenant, value: Any) -> None:
    """Project details render ``int(sentry:resolve_age)``: a stored "abc" failed that write and
    every later read of the project with a 500."""
    path = f"/api/0/projects/{tenant.org_slug}/{tenant.project_slug}/"
    r = client.put(path, json={"options": {"sentry:resolve_age": value}}, headers=tenant.headers())
    expected = {"options": {"sentry:resolve_age": ["A valid integer is required."]}}
    assert (r.status_code, r.get_json()) == (400, expected)
    assert client.get(path, headers=tenant.headers()).status_code == 200


def test_a_resolve_age_is_stored_as_an_integer(client: FlaskClient, tenant: Tenant) -> None:
    path = f"/api/0/projects/{tenant.org_slug}/{tenant.project_slug}/"
    r = client.put(path, json={"options": {"sentry:resolve_age": "24"}}, headers=tenant.headers())
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["resolveAge"] == 24 and r.get_json()["options"]["sentry:resolve_age"] == 24


def _release(client: FlaskClient, t: Tenant) -> str:
    r = client.post(
        f"/api/0/projects/{t.org_slug}/{t.project_slug}/releases/",
        json={"version": "1.0"},
        headers=t.headers(),
    )
    assert r.status_code == 201, r.get_json()
    return f"/api/0/organizations/{t.org_slug}/releases/1.0/"


def test_datetimes_before_the_year_1000_keep_four_digits(client: FlaskClient, tenant: Tenant) -> None:
    """``strftime("%Y")`` wrote the year 12 as ``12``: not an ISO date, and not what the document says."""
    release = _release(client, tenant)
    r = client.post(
        release + "deploys/",
        json={
            "environment": "prod",
            "dateStarted": "0012-01-11T00:00:01.0Z",
            "dateFinished": "0999-12-31T23:59:59Z",
        },
        headers=tenant.headers(),
    )
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert (body["dateStarted"], body["dateFinished"]) == (
        "0012-01-11T00:00:01.000000Z",
        "0999-12-31T23:59:59.000000Z",
    )
    r = client.put(release, json={"dateReleased": "2024-01-02T03:04:05.5+01:00"}, headers=tenant.headers())
    assert r.get_json()["dateReleased"] == "2024-01-02T02:04:05.500000Z"  # as before: UTC, microseconds, Z


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+02:00", "9999-12-31T23:00:00-02:00"])
def test_a_datetime_an_offset_moves_out_of_range_is_invalid(
    client: FlaskClient, tenant: Tenant, when: str
) -> None:
    """Converting it to UTC overflowed: a 500."""
    release = _release(client, tenant)
    r = client.put(release, json={"dateReleased": when}, headers=tenant.headers())
    assert (r.status_code, r.get_json()) == (400, {"dateReleased": [DATETIME_INVALID]})


def test_a_body_too_large_for_the_screen_is_still_checked_by_the_route(
    client: FlaskClient, tenant: Tenant
) -> None:
    body = {"name": "k\x00", "padding": "x" * (17 * 1024 * 1024)}
    r = client.post(
        f"/api/0/projects/{tenant.org_slug}/{tenant.project_slug}/keys/", json=body, headers=tenant.headers()
    )
    assert (r.status_code, r.get_json()) == (400, {"detail": NULL_CHARACTERS})
