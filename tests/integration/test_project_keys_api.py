"""Project keys over HTTP, black box, on SQLite and PostgreSQL (sentry-behaviour 8.3)."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient

from events import Event, streams
from infra.bootstrap import Services
from tests.conftest import OPERATOR, Tenant, make_token

HEX32 = re.compile(r"^[a-f0-9]{32}$")
PREFIX = "http://127.0.0.1:8000"  # Settings.url_prefix in the tests


def keys_url(t: Tenant, key: str = "") -> str:
    return f"/api/0/projects/{t.org_slug}/{t.project_slug}/keys/" + (f"{key}/" if key else "")


def new_key(client: FlaskClient, t: Tenant, body: Any = None) -> dict[str, Any]:
    response = client.post(keys_url(t), json=body or {}, headers=t.headers())
    assert response.status_code == 201, response.get_json()
    key: dict[str, Any] = response.get_json()
    key["position"] = response.headers["X-Eventry-Position"]
    return key


def listed(client: FlaskClient, t: Tenant, position: str, query: str = "") -> list[dict[str, Any]]:
    response = client.get(keys_url(t) + query, headers=t.headers(**{"X-Eventry-Min-Position": position}))
    assert response.status_code == 200
    return response.get_json()  # type: ignore[no-any-return]


def audit(client: FlaskClient, t: Tenant, event: str, position: str) -> list[dict[str, Any]]:
    return client.get(
        f"/api/0/organizations/{t.org_slug}/audit-logs/?event={event}",
        headers=t.headers(**{"X-Eventry-Min-Position": position}),
    ).get_json()["rows"]


def test_a_new_key_and_its_dsns(client: FlaskClient, tenant: Tenant) -> None:
    key = new_key(client, tenant, {"name": "Backend"})
    pk, sk, pid = key["public"], key["secret"], tenant.project_id
    assert HEX32.match(pk) and HEX32.match(sk) and pk != sk
    assert key["id"] == pk and key["name"] == key["label"] == "Backend"
    assert key["projectId"] == pid and key["isActive"] is True and key["rateLimit"] is None
    assert key["dsn"] == {
        "secret": f"http://{pk}:{sk}@127.0.0.1:8000/{pid}",
        "public": f"http://{pk}@127.0.0.1:8000/{pid}",
        "csp": f"{PREFIX}/api/{pid}/csp-report/?sentry_key={pk}",
        "security": f"{PREFIX}/api/{pid}/security/?sentry_key={pk}",
        "minidump": f"{PREFIX}/api/{pid}/minidump/?sentry_key={pk}",
        "nel": f"{PREFIX}/api/{pid}/nel/?sentry_key={pk}",
        "unreal": f"{PREFIX}/api/{pid}/unreal/{pk}/",
        "crons": f"{PREFIX}/api/{pid}/cron/___MONITOR_SLUG___/{pk}/",
        "cdn": f"{PREFIX}/js-sdk-loader/{pk}.min.js",
        "playstation": f"{PREFIX}/api/{pid}/playstation/?sentry_key={pk}",
        "integration": f"{PREFIX}/api/{pid}/integration/",
        "otlp_traces": f"{PREFIX}/api/{pid}/integration/otlp/v1/traces",
        "otlp_logs": f"{PREFIX}/api/{pid}/integration/otlp/v1/logs",
    }
    assert list(key["dsn"]) == [
        "secret", "public", "csp", "security", "minidump", "nel", "unreal", "crons", "cdn",
        "playstation", "integration", "otlp_traces", "otlp_logs",
    ]  # fmt: skip
    assert key["browserSdkVersion"] == "10.x"
    assert key["browserSdk"] == {
        "choices": [["10.x", "10.x"], ["9.x", "9.x"], ["8.x", "8.x"], ["7.x", "7.x"]]
    }
    assert key["dynamicSdkLoaderOptions"] == {
        "hasReplay": True, "hasPerformance": True, "hasDebug": False, "hasFeedback": False,
        "hasLogsAndMetrics": False,
    }  # fmt: skip
    [entry] = audit(client, tenant, "projectkey.create", key["position"])
    assert entry["note"] == f"added project key {pk}"
    assert entry["data"] == {
        "label": "Backend", "public_key": pk, "secret_key": sk, "roles": 1, "status": 0,
        "rate_limit_count": None, "rate_limit_window": None,
    }  # fmt: skip
    shown = client.get(
        keys_url(tenant, pk), headers=tenant.headers(**{"X-Eventry-Min-Position": key["position"]})
    )
    assert shown.status_code == 200 and shown.get_json()["dsn"] == key["dsn"]


def test_label_defaults_to_two_words_and_keys_are_listed_newest_first(
    client: FlaskClient, tenant: Tenant
) -> None:
    first, second = new_key(client, tenant), new_key(client, tenant, {"name": ""})
    assert re.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+", first["name"]) and second["name"]
    assert [k["id"] for k in listed(client, tenant, second["position"])] == [second["id"], first["id"]]


def test_supplied_keys_and_rate_limits(client: FlaskClient, tenant: Tenant) -> None:
    pk, sk = "a" * 32, "b" * 32
    key = new_key(client, tenant, {"public": pk, "secret": sk, "rateLimit": {"count": 10, "window": 60}})
    assert key["public"] == pk and key["secret"] == sk and key["rateLimit"] == {"window": 60, "count": 10}
    half = new_key(client, tenant, {"rateLimit": {"count": 10}})
    assert half["rateLimit"] is None  # both or nothing
    taken = client.post(keys_url(tenant), json={"public": pk}, headers=tenant.headers())
    assert taken.status_code == 409 and taken.get_json() == {
        "detail": "A key with this public key already exists."
    }


NOT_A_DICT = "Invalid data. Expected a dictionary, but got str."


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"public": "XYZ"}, {"public": ["This value does not match the required pattern."]}),
        ({"secret": "a" * 31}, {"secret": ["This value does not match the required pattern."]}),
        ({"name": "x" * 65}, {"name": ["Ensure this field has no more than 64 characters."]}),
        (
            {"rateLimit": {"count": -1}},
            {"rateLimit": {"count": ["Ensure this value is greater than or equal to 0."]}},
        ),
        (
            {"rateLimit": {"window": 86401}},
            {"rateLimit": {"window": ["Ensure this value is less than or equal to 86400."]}},
        ),
        ({"rateLimit": "x"}, {"rateLimit": {"non_field_errors": [NOT_A_DICT]}}),
        ({"isActive": "maybe"}, {"isActive": ["Must be a valid boolean."]}),
    ],
)
def test_create_validation(
    client: FlaskClient, services: Services, tenant: Tenant, body: Any, errors: Any
) -> None:
    head = services.store.head()
    response = client.post(keys_url(tenant), json=body, headers=tenant.headers())
    assert response.status_code == 400 and response.get_json() == errors
    assert services.store.head() == head


def test_update_status_name_and_rate_limit(client: FlaskClient, services: Services, tenant: Tenant) -> None:
    key = new_key(client, tenant, {"name": "k"})
    url = keys_url(tenant, key["id"])
    response = client.put(
        url,
        json={"isActive": False, "name": "renamed", "rateLimit": {"count": 5, "window": 10}},
        headers=tenant.headers(),
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (
        body["isActive"] is False
        and body["name"] == "renamed"
        and body["rateLimit"] == {"window": 10, "count": 5}
    )
    assert body["dateCreated"] == key["dateCreated"]
    position = response.headers["X-Eventry-Position"]
    assert [k["id"] for k in listed(client, tenant, position, "?status=inactive")] == [key["id"]]
    assert key["id"] not in [k["id"] for k in listed(client, tenant, position, "?status=active")]
    assert listed(client, tenant, position, "?status=bogus") == []
    [entry] = audit(client, tenant, "projectkey.edit", position)
    assert entry["note"] == f"edited project key {key['id']}" and entry["data"]["status"] == 1

    cleared = client.put(url, json={"rateLimit": None}, headers=tenant.headers())
    assert cleared.get_json()["rateLimit"] is None
    kept = client.put(url, json={"rateLimit": {}, "isActive": True}, headers=tenant.headers())
    assert kept.get_json()["isActive"] is True and kept.get_json()["name"] == "renamed"
    head = services.store.head()
    assert client.put(url, json={"name": "renamed"}, headers=tenant.headers()).status_code == 200
    assert services.store.head() == head  # nothing changed: nothing appended


def test_delete(client: FlaskClient, services: Services, tenant: Tenant) -> None:
    key = new_key(client, tenant)
    url = keys_url(tenant, key["id"])
    assert client.delete(url, headers=tenant.headers()).status_code == 403  # project:admin
    admin, _ = make_token(services, tenant.org_id, ("project:admin",))
    response = client.delete(url, headers=tenant.headers(admin))
    assert response.status_code == 204
    position = response.headers["X-Eventry-Position"]
    assert key["id"] not in [k["id"] for k in listed(client, tenant, position)]
    assert client.get(url, headers=tenant.headers()).status_code == 404
    assert client.delete(url, headers=tenant.headers(admin)).status_code == 404
    assert client.put(url, json={"name": "x"}, headers=tenant.headers()).status_code == 404
    [entry] = audit(client, tenant, "projectkey.remove", position)
    assert entry["note"] == f"removed project key {key['id']}"


def test_a_key_of_another_project_is_not_found(client: FlaskClient, tenant: Tenant) -> None:
    key = new_key(client, tenant)
    other = client.post(
        f"/api/0/organizations/{tenant.org_slug}/projects/", json={"name": "B"}, headers=tenant.headers()
    )
    slug = other.get_json()["slug"]
    url = f"/api/0/projects/{tenant.org_slug}/{slug}/keys/{key['id']}/"
    headers = tenant.headers(**{"X-Eventry-Min-Position": other.headers["X-Eventry-Position"]})
    assert client.get(url, headers=headers).status_code == 404
    assert client.put(url, json={"name": "x"}, headers=headers).status_code == 404


def put_key(client: FlaskClient, t: Tenant, key: dict[str, Any], body: Any) -> Any:
    return client.put(keys_url(t, key["id"]), json=body, headers=t.headers())


def test_loader_options_are_merged_and_checked(
    client: FlaskClient, services: Services, tenant: Tenant
) -> None:
    key = new_key(client, tenant)
    r = put_key(client, tenant, key, {"dynamicSdkLoaderOptions": {"hasDebug": "true", "hasReplay": 0}})
    assert r.status_code == 200 and r.get_json()["dynamicSdkLoaderOptions"] == {
        "hasReplay": False, "hasPerformance": True, "hasDebug": True, "hasFeedback": False,
        "hasLogsAndMetrics": False,
    }  # fmt: skip
    head = services.store.head()
    for body, errors in [
        ({"hasReplay": "maybe"}, {"hasReplay": ["Must be a valid boolean."]}),
        ({"hasDebug": None}, {"hasDebug": ["This field may not be null."]}),
        ([True], {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}),
    ]:
        refused = put_key(client, tenant, key, {"dynamicSdkLoaderOptions": body, "name": "not stored"})
        assert refused.status_code == 400 and refused.get_json() == {"dynamicSdkLoaderOptions": errors}
    assert services.store.head() == head  # a 400 changes nothing
    kept = put_key(client, tenant, key, {"dynamicSdkLoaderOptions": None})
    assert kept.status_code == 200 and kept.get_json()["dynamicSdkLoaderOptions"]["hasDebug"] is True
    assert kept.get_json()["name"] == key["name"]


def test_browser_sdk_version_choices(client: FlaskClient, tenant: Tenant) -> None:
    key = new_key(client, tenant)
    assert put_key(client, tenant, key, {"browserSdkVersion": "4.x"}).get_json()["browserSdkVersion"] == "4.x"
    refused = put_key(client, tenant, key, {"browserSdkVersion": "3.x"})
    assert refused.status_code == 400 and refused.get_json() == {
        "browserSdkVersion": ['"3.x" is not a valid choice.']
    }
    # As in Sentry, a PUT without a version stores the project's default.
    assert put_key(client, tenant, key, {"name": "n"}).get_json()["browserSdkVersion"] == "10.x"
    created = client.post(keys_url(tenant), json={"browserSdkVersion": "3.x"}, headers=tenant.headers())
    assert created.status_code == 201  # Sentry's POST takes no version: ignored


def test_edit_audit_data_names_the_previous_rate_limit_where_it_changed(
    client: FlaskClient, tenant: Tenant
) -> None:
    key = new_key(client, tenant, {"rateLimit": {"count": 10, "window": 60}})
    r = put_key(client, tenant, key, {"rateLimit": {"count": 20, "window": 60}})
    [entry] = audit(client, tenant, "projectkey.edit", r.headers["X-Eventry-Position"])
    assert entry["data"]["prev_rate_limit_count"] == 10 and entry["data"]["rate_limit_count"] == 20
    assert "prev_rate_limit_window" not in entry["data"]  # unchanged: not named, as in Sentry
    r = put_key(client, tenant, key, {"name": "renamed"})
    entries = audit(client, tenant, "projectkey.edit", r.headers["X-Eventry-Position"])
    assert not {"prev_rate_limit_count", "prev_rate_limit_window"} & set(entries[0]["data"])


@dataclass(frozen=True)
class KeyV1(Event):
    """A key event as the first version of eventry appended it (not registered: written raw)."""

    project_id: int
    organization_id: int
    key_id: int
    public_key: str
    secret_key: str
    label: str
    status: int
    rate_limit_count: int | None
    rate_limit_window: int | None
    date_created: str = ""
    automatic: bool = False


def append_v1(services: Services, t: Tenant, name: str, event: KeyV1) -> None:
    stream = streams.project(t.project_id)
    v1 = type(name, (KeyV1,), {"TOPIC": f"project_keys.{name}.v1"})
    raw = v1(**{f.name: getattr(event, f.name) for f in fields(KeyV1)})
    services.store.append([(stream, services.store.stream_version(stream) + 1, raw)], OPERATOR, NOW)


NOW = datetime(2025, 1, 2, tzinfo=UTC)


def test_keys_written_by_the_first_version_still_fold(
    client: FlaskClient, services: Services, tenant: Tenant
) -> None:
    """Old events are read through their upcasters, by the views (which filter the log by
    topic) and by the deciders."""
    key = KeyV1(
        tenant.project_id, tenant.org_id, 77, "e" * 32, "f" * 32, "Old", 0, None, None, NOW.isoformat()
    )
    append_v1(services, tenant, "ProjectKeyCreated", key)
    append_v1(services, tenant, "ProjectKeyUpdated", replace(key, rate_limit_count=5, rate_limit_window=60))
    services.engine.catch_up_all()
    shown = client.get(keys_url(tenant, key.public_key), headers=tenant.headers())
    assert shown.status_code == 200, shown.get_json()
    body = shown.get_json()
    assert body["rateLimit"] == {"window": 60, "count": 5} and body["browserSdkVersion"] == "10.x"
    assert not any(body["dynamicSdkLoaderOptions"].values())  # no loader data was stored then
    [edit] = audit(client, tenant, "projectkey.edit", str(services.store.head()))
    assert not {"prev_rate_limit_count", "prev_rate_limit_window"} & set(edit["data"])
    r = put_key(
        client,
        tenant,
        {"id": key.public_key},
        {"rateLimit": None, "dynamicSdkLoaderOptions": {"hasDebug": True}},
    )
    assert r.status_code == 200 and r.get_json()["rateLimit"] is None
    assert [n for n, on in r.get_json()["dynamicSdkLoaderOptions"].items() if on] == ["hasDebug"]
    edits = audit(client, tenant, "projectkey.edit", r.headers["X-Eventry-Position"])
    assert edits[0]["data"]["prev_rate_limit_count"] == 5
