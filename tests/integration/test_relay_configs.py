"""Project configs for Relay: signed v1/v2/v3 fetches served from the relay_configs projection."""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient
from sentry_relay.processing import normalize_project_config

from infra.bootstrap import Services
from infra.relay_cache import key as cache_key
from infra.relay_cache import one_write
from projections import relay_configs
from tests.conftest import Tenant, make_token
from tests.relay_client import RelayClient, sign_at


def add_key(client: FlaskClient, t: Tenant, active: bool = True) -> str:
    """A project key, made through the keys API; returns its public key."""
    return str(create_key(client, t, active)["public"])


def create_key(client: FlaskClient, t: Tenant, active: bool = True) -> dict[str, object]:
    base = f"/api/0/projects/{t.org_slug}/{t.project_slug}/keys/"
    r = client.post(base, json={"name": "relay test"}, headers=t.headers())
    assert r.status_code == 201, r.get_json()
    if not active:
        set_active(client, t, r.get_json()["id"], False)
    return r.get_json()  # type: ignore[no-any-return]


def set_active(client: FlaskClient, t: Tenant, key_id: str, active: bool) -> None:
    r = client.put(
        f"/api/0/projects/{t.org_slug}/{t.project_slug}/keys/{key_id}/",
        json={"isActive": active},
        headers=t.headers(),
    )
    assert r.status_code == 200, r.get_json()


def trust(client: FlaskClient, t: Tenant, *relay_keys: str) -> None:
    relays = [{"publicKey": k, "name": f"edge {i}"} for i, k in enumerate(relay_keys)]
    r = client.put(f"/api/0/organizations/{t.org_slug}/", json={"trustedRelays": relays}, headers=t.headers())
    assert r.status_code == 200, r.get_json()


@pytest.fixture
def internal(client: FlaskClient, services: Services) -> RelayClient:
    relay = RelayClient(client)
    object.__setattr__(services.settings, "internal_relays", frozenset({str(relay.public)}))
    assert relay.register().status_code == 200
    return relay


def fetch(
    relay: RelayClient, services: Services, payload: dict[str, object], version: int = 3
) -> dict[str, object]:
    """A fetch as a processing Relay makes it (``fullConfig`` unless the payload says), once
    the view has reached the log (a relay is not the writer of what it reads)."""
    assert services.engine.wait(services.store.head(), ["relay_configs"], timeout=60)
    r = relay.project_configs({"fullConfig": True, **payload}, version)
    assert r.status_code == 200, r.get_json()
    return r.get_json()  # type: ignore[no-any-return]


def test_round_trip_for_100_keys_with_blocking(
    client: FlaskClient, services: Services, internal: RelayClient, tenant: Tenant
) -> None:
    keys = [add_key(client, tenant) for _ in range(100)]
    body = fetch(internal, services, {"publicKeys": keys, "fullConfig": True, "global": True})
    assert set(body["configs"]) == set(keys)  # type: ignore[arg-type]
    assert body["global_status"] == "ready" and "measurements" in body["global"]  # type: ignore[operator,index]
    doc = body["configs"][keys[0]]  # type: ignore[index]
    assert doc["projectId"] == tenant.project_id and doc["organizationId"] == tenant.org_id
    assert doc["slug"] == tenant.project_slug and doc["publicKeys"][0]["publicKey"] == keys[0]
    assert "deniedNames" not in doc["config"]["metrics"]
    normalize_project_config(doc["config"])

    r = client.put(
        f"/api/0/projects/{tenant.org_slug}/{tenant.project_slug}/metrics/visibility/",
        json={"operationType": "blockMetric", "metricMri": "c:custom/page_click@none"},
        headers=tenant.headers(),
    )
    client.put(
        f"/api/0/projects/{tenant.org_slug}/{tenant.project_slug}/metrics/visibility/",
        json={"operationType": "blockTags", "metricMri": "d:custom/latency@millisecond", "tags": ["user"]},
        headers=tenant.headers(),
    )
    assert r.status_code == 200
    after = fetch(internal, services, {"publicKeys": keys[:3]})["configs"]
    metrics = after[keys[0]]["config"]["metrics"]  # type: ignore[index]
    assert metrics["deniedNames"] == ["c:custom/page_click@none"]
    assert metrics["deniedTags"] == [{"name": ["d:custom/latency@millisecond"], "tags": ["user"]}]
    assert after[keys[0]]["rev"] != doc["rev"]  # type: ignore[index]
    normalize_project_config(after[keys[0]]["config"])  # type: ignore[index]
    cached = json.loads(services.redis.get(cache_key(keys[0])))
    assert cached["config"]["metrics"] == metrics


def test_unchanged_revisions_and_unknown_keys(
    client: FlaskClient, services: Services, internal: RelayClient, tenant: Tenant
) -> None:
    key = add_key(client, tenant)
    first = fetch(internal, services, {"publicKeys": [key]})["configs"][key]  # type: ignore[index]
    unknown = uuid.uuid4().hex
    body = fetch(internal, services, {"publicKeys": [key, unknown], "revisions": [first["rev"], None]})
    assert body["unchanged"] == [key]
    assert body["configs"] == {unknown: {"disabled": True}}


def test_keys_that_are_not_plain_are_named_as_json_escapes_them(
    client: FlaskClient, services: Services, internal: RelayClient, tenant: Tenant
) -> None:
    """Real keys are hex; anything else a relay sends is answered under its own name, escaped."""
    key = add_key(client, tenant)
    odd = ['we"ird', "back\\slash", "ключ", "tab\t", "a,b"]
    for asked in ([key, *odd], [*odd, key]):
        body = fetch(internal, services, {"publicKeys": asked, "fullConfig": True})
        assert list(body["configs"]) == asked  # type: ignore[call-overload]
        assert body["configs"][key]["disabled"] is False  # type: ignore[index]
        assert all(body["configs"][k] == {"disabled": True} for k in odd)  # type: ignore[index]


def test_inactive_keys_and_removed_projects_are_disabled(
    client: FlaskClient, services: Services, internal: RelayClient, tenant: Tenant
) -> None:
    created = create_key(client, tenant, active=False)
    key = str(created["public"])
    assert fetch(internal, services, {"publicKeys": [key]})["configs"] == {key: {"disabled": True}}
    set_active(client, tenant, str(created["id"]), True)
    assert fetch(internal, services, {"publicKeys": [key]})["configs"][key]["disabled"] is False  # type: ignore[index]
    admin, _ = make_token(services, tenant.org_id, ("project:admin",))
    r = client.delete(
        f"/api/0/projects/{tenant.org_slug}/{tenant.project_slug}/", headers=tenant.headers(admin)
    )
    assert r.status_code == 204
    assert fetch(internal, services, {"publicKeys": [key]})["configs"] == {key: {"disabled": True}}


def test_relays_that_are_not_internal_get_no_configs(
    client: FlaskClient, services: Services, tenant: Tenant
) -> None:
    """The newest Sentry: 403 to every relay that is not internal, even one an organization
    trusts, whatever the version or body (before the version is even looked at)."""
    external = RelayClient(client)
    assert external.register().status_code == 200
    key = add_key(client, tenant)
    trust(client, tenant, str(external.public))
    for version, payload in (
        (3, {"publicKeys": [key], "fullConfig": True}),
        (2, {"publicKeys": [key]}),
        (1, {"projects": [tenant.project_id]}),
        (9, {"publicKeys": [key]}),
    ):
        r = external.project_configs(payload, version)
        assert r.status_code == 403, (version, r.get_json())
        assert r.get_json() == {"detail": "Relay unauthorized for config information"}


def test_minimal_configs_unless_the_full_config_is_asked_for(
    client: FlaskClient, services: Services, internal: RelayClient, tenant: Tenant
) -> None:
    """``get_project_config(full_config=False)``: the part an external processor needs; the
    v3 path (full, cached) always answers ``pending``; each form is one Relay takes."""
    key = add_key(client, tenant)
    for version in (2, 3):
        body = fetch(internal, services, {"publicKeys": [key], "fullConfig": False}, version)
        assert set(body) == {"configs"}
        doc = body["configs"][key]  # type: ignore[index]
        assert set(doc["config"]) == {
            "allowedDomains", "trustedRelays", "piiConfig", "datascrubbingSettings", "features", "txNameRules"
        }  # fmt: skip
        assert "quotas" not in doc["publicKeys"][0]
        normalize_project_config(doc["config"])
    full = fetch(internal, services, {"publicKeys": [key]})
    assert full["pending"] == [] and set(full) == {"configs", "pending"}
    doc = full["configs"][key]  # type: ignore[index]
    assert doc["publicKeys"][0]["quotas"] == [] and doc["config"]["quotas"] == []
    assert doc["config"]["filterSettings"]["ignoreTransactions"]["isEnabled"] is True
    assert "*/healthz" in doc["config"]["filterSettings"]["ignoreTransactions"]["patterns"]
    normalize_project_config(doc["config"])
    date = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z"
    assert re.fullmatch(date, doc["lastChange"]) and re.fullmatch(date, doc["lastFetch"])
    by_project = fetch(internal, services, {"projects": [tenant.project_id]}, version=1)
    assert "quotas" not in by_project["configs"][str(tenant.project_id)]["config"]  # type: ignore[index]


def test_dynamic_sampling_follows_the_feature_flag(
    client: FlaskClient, services: Services, internal: RelayClient, tenant: Tenant
) -> None:
    """Feature flags are settings, not events: the ``sampling`` block is added when serving."""
    key = add_key(client, tenant)
    assert "sampling" not in fetch(internal, services, {"publicKeys": [key]})["configs"][key]["config"]  # type: ignore[index]
    services.settings = dataclasses.replace(
        services.settings, features=services.settings.features | {"organizations:dynamic-sampling"}
    )
    for full in (True, False):
        doc = fetch(internal, services, {"publicKeys": [key], "fullConfig": full})["configs"][key]  # type: ignore[index]
        assert doc["config"]["sampling"]["rules"][0]["samplingValue"] == {"type": "sampleRate", "value": 1.0}
        normalize_project_config(doc["config"])


def test_a_rebuild_drops_cached_documents_it_did_not_rewrite(
    client: FlaskClient, services: Services, internal: RelayClient, tenant: Tenant
) -> None:
    """A rebuild may follow a change of the document's shape: documents of an older shape must
    not outlive it in Redis (the endpoint refills from the rebuilt view)."""
    key = add_key(client, tenant)
    fresh = fetch(internal, services, {"publicKeys": [key]})["configs"][key]  # type: ignore[index]
    services.redis.set(cache_key(key), json.dumps({**fresh, "lastChange": "2020-01-01T00:00:00+00:00"}))
    services.engine.rebuild("relay_configs")
    assert services.redis.get(cache_key(key)) is None
    again = fetch(internal, services, {"publicKeys": [key]})["configs"][key]  # type: ignore[index]
    assert again["lastChange"] == fresh["lastChange"] and again["rev"] == fresh["rev"]


def test_version_one_and_bad_requests(
    client: FlaskClient, services: Services, internal: RelayClient, tenant: Tenant
) -> None:
    key_a, key_b = add_key(client, tenant), add_key(client, tenant)
    body = fetch(internal, services, {"projects": [tenant.project_id]}, version=1)
    config = body["configs"][str(tenant.project_id)]  # type: ignore[index]
    assert sorted(k["publicKey"] for k in config["publicKeys"]) == sorted([key_a, key_b])
    r = internal.project_configs({"publicKeys": []}, version=4)
    assert r.status_code == 400 and r.get_json() == {
        "detail": "Unsupported version, we only support versions 1 to 3."
    }
    assert internal.project_configs({"publicKeys": "abc"}).status_code == 400


def test_a_flushed_cache_is_refilled_from_the_view(
    client: FlaskClient, services: Services, internal: RelayClient, tenant: Tenant
) -> None:
    key = add_key(client, tenant)
    first = fetch(internal, services, {"publicKeys": [key]})["configs"][key]  # type: ignore[index]
    services.redis.delete(cache_key(key))
    again = fetch(internal, services, {"publicKeys": [key]})["configs"][key]  # type: ignore[index]
    assert again["rev"] == first["rev"]
    assert services.redis.get(cache_key(key)) is not None


def test_a_tampered_body_is_refused(internal: RelayClient) -> None:
    body = json.dumps({"publicKeys": ["a" * 32]}).encode()
    signature = internal.secret.sign(body)
    tampered = json.dumps({"publicKeys": ["b" * 32]}).encode()
    r = internal.post_raw("/api/0/relays/projectconfigs/?version=3", tampered, signature)
    assert r.status_code == 401 and r.get_json() == {"detail": "Invalid relay signature"}


def test_an_expired_or_replayed_fetch_is_refused(internal: RelayClient) -> None:
    url = "/api/0/relays/projectconfigs/?version=3"
    body = json.dumps({"publicKeys": ["a" * 32]}).encode()
    now = datetime.now(UTC)
    r = internal.post_raw(url, body, sign_at(internal.secret, body, now - timedelta(seconds=310)))
    assert r.status_code == 401 and r.get_json() == {"detail": "Invalid relay signature"}
    signature = sign_at(internal.secret, body, now - timedelta(seconds=200))
    assert internal.post_raw(url, body, signature).status_code == 200
    r = internal.post_raw(url, body, signature)
    assert r.status_code == 401 and r.get_json() == {"detail": "Invalid relay signature"}


@pytest.mark.parametrize(
    ("version", "payload"),
    [
        ("1", {"projects": [1]}),
        ("2", {"publicKeys": ["a" * 32]}),
        ("3", {"publicKeys": ["a" * 32], "fullConfig": True, "noCache": True}),
        ("3", {"publicKeys": [], "fullConfig": True}),
    ],
)
def test_every_kind_of_fetch_is_answered_once(
    internal: RelayClient, version: str, payload: dict[str, Any]
) -> None:
    """The message is marked as seen with the cache read, or without one when none is made:
    a replay is refused on each path of the route."""
    url = f"/api/0/relays/projectconfigs/?version={version}"
    body = json.dumps(payload).encode()
    signature = internal.secret.sign(body)
    assert internal.post_raw(url, body, signature).status_code == 200
    r = internal.post_raw(url, body, signature)
    assert r.status_code == 401 and r.get_json() == {"detail": "Invalid relay signature"}


def test_a_removed_key_leaves_the_cache_and_is_answered_as_unknown(
    client: FlaskClient, services: Services, internal: RelayClient, tenant: Tenant
) -> None:
    """Its documents leave the view and Redis (full and minimal); Relay gets what Sentry gives a
    key it cannot find, as for any unknown key."""
    created, kept = create_key(client, tenant), add_key(client, tenant)
    removed = str(created["public"])
    for full in (True, False):
        assert fetch(internal, services, {"publicKeys": [removed, kept], "fullConfig": full})["configs"]
    assert services.redis.get(cache_key(removed)) and services.redis.get(cache_key(removed, full=False))
    admin, _ = make_token(services, tenant.org_id, ("project:admin",))
    r = client.delete(
        f"/api/0/projects/{tenant.org_slug}/{tenant.project_slug}/keys/{created['id']}/",
        headers=tenant.headers(admin),
    )
    assert r.status_code == 204
    body = fetch(internal, services, {"publicKeys": [removed, kept]})
    assert body["configs"][removed] == {"disabled": True} and body["pending"] == []  # type: ignore[index]
    assert body["configs"][kept]["disabled"] is False  # type: ignore[index]
    assert services.redis.get(cache_key(removed)) is None
    assert services.redis.get(cache_key(removed, full=False)) is None
    with services.engine.read("relay_configs") as view:
        assert relay_configs.stored_document(view, removed) is None


def test_the_marker_and_the_read_share_one_write_and_a_failed_one_leaves_nothing_unread(
    services: Services,
) -> None:
    """``one_write``: the raw replies in order; after an error reply (the SET on a key that
    holds a list) the connection that still held the MGET's reply is not reused as it was."""
    r = services.redis
    stored, marker, wrong = (f"relay-one-write:{uuid.uuid4().hex}" for _ in range(3))
    r.set(stored, b"doc", ex=60)
    claim = ("SET", marker, 1, "NX", "EX", 60)
    assert one_write(r, [claim, ("MGET", stored, marker + "x")]) == [b"OK", [b"doc", None]]
    assert one_write(r, [claim, ("MGET", stored)]) == [None, [b"doc"]]  # seen: no OK
    r.rpush(wrong, "x")
    r.expire(wrong, 60)
    for _ in range(3):  # the pool's connections, each taken in turn
        with pytest.raises(redis.ResponseError):
            one_write(r, [("SET", wrong, 1, "XX", "GET"), ("MGET", stored)])
        assert r.get(stored) == b"doc"
    assert r.delete(marker, wrong) == 2
