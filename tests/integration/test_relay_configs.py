"""Project configs for Relay: signed v1/v2/v3 fetches served from the relay_configs projection."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sentry_relay.processing import normalize_project_config

from infra.bootstrap import Services
from infra.relay_cache import key as cache_key
from tests.conftest import Tenant, make_tenant, make_token
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
    services.engine.wait(services.store.head(), ["relay_configs"], timeout=10)
    r = relay.project_configs(payload, version)
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


def test_external_relays_see_only_organizations_that_trust_them(
    client: FlaskClient, services: Services, tenant: Tenant
) -> None:
    external = RelayClient(client)
    assert external.register().status_code == 200
    other = make_tenant(services)
    trusted_key, untrusted_key = add_key(client, tenant), add_key(client, other)
    trust(client, tenant, str(external.public))
    body = fetch(external, services, {"publicKeys": [trusted_key, untrusted_key]})
    assert list(body["configs"]) == [trusted_key]  # type: ignore[arg-type]
    assert body["configs"][trusted_key]["config"]["trustedRelays"] == [str(external.public)]  # type: ignore[index]
    r = external.project_configs({"publicKeys": [trusted_key], "fullConfig": True})
    assert r.status_code == 403 and r.get_json() == {
        "detail": "Relay unauthorized for full config information"
    }


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
