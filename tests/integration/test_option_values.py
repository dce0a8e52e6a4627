"""Option values are typed at the edge (the option registry): what a client sends either
becomes a value every view folds, or is a 400 that appends nothing. Each test sends what a
client sends, then checks every view still catches up with nothing parked."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from sentry_relay.processing import normalize_project_config

from api.project_render import formatted_options
from events import streams
from events.projects import ProjectOptionSet
from infra.bootstrap import Services
from tests.conftest import OPERATOR, Tenant
from tests.integration.test_relay_configs import add_key, fetch
from tests.relay_client import RelayClient

FORMATTED = set(formatted_options({}))  # the keys Sentry's format_options always shows


def stored(options: dict[str, Any]) -> dict[str, Any]:
    """A project body's ``options`` without what ``format_options`` adds: the stored ones."""
    return {key: value for key, value in options.items() if key not in FORMATTED}


NOT_A_LIST = 'Expected a list of items but got type "int".'
TOO_BIG = "Ensure this value is less than or equal to {}."
MIXED_TAGS = json.dumps([{"metric_mri": "c:custom/x@none", "is_blocked": False, "blocked_tags": [1, "a"]}])


@pytest.fixture
def internal(client: FlaskClient, services: Services) -> RelayClient:
    """A registered internal Relay, to fetch project configs as Relay does."""
    relay = RelayClient(client)
    object.__setattr__(services.settings, "internal_relays", frozenset({str(relay.public)}))
    assert relay.register().status_code == 200
    return relay


def every_view_folds(services: Services) -> None:
    """The property every write keeps: each view reaches the head, nothing parked."""
    services.engine.catch_up_all()
    assert services.engine.parked() == []
    assert min(services.engine.positions().values()) == services.store.head()


def put_project(client: FlaskClient, t: Tenant, body: Any) -> Any:
    return client.put(f"/api/0/projects/{t.org_slug}/{t.project_slug}/", json=body, headers=t.headers())


@pytest.mark.parametrize(
    ("options", "errors"),
    [
        ({"sentry:origins": 5}, {"sentry:origins": [NOT_A_LIST]}),
        ({"sentry:safe_fields": 7}, {"sentry:safe_fields": [NOT_A_LIST]}),
        ({"sentry:sensitive_fields": ["a", 1]}, {"sentry:sensitive_fields": ["Not a valid string."]}),
        ({"sentry:resolve_age": 2**70}, {"sentry:resolve_age": [TOO_BIG.format(2**31 - 1)]}),
        ({"sentry:store_crash_reports": 101}, {"sentry:store_crash_reports": [TOO_BIG.format(100)]}),
        ({"mail:subject_prefix": {"a": 1}}, {"mail:subject_prefix": ["Not a valid string."]}),
        ({"sentry:sensitive_fields": "x" * 4001},
         {"sentry:sensitive_fields": ["List of sensitive fields is too long."]}),
    ],
)  # fmt: skip
def test_an_option_value_that_is_not_its_type_is_a_400(
    client: FlaskClient, services: Services, tenant: Tenant, options: dict[str, Any], errors: Any
) -> None:
    """``sentry:origins: 5`` and ``sentry:safe_fields: 7`` were 200s whose events stopped the
    relay_configs view (a TypeError) for every tenant."""
    head = services.store.head()
    r = put_project(client, tenant, {"options": options})
    assert (r.status_code, r.get_json()) == (400, {"options": errors})
    assert services.store.head() == head
    every_view_folds(services)


def test_text_options_become_lists_of_lines_and_reach_relay(
    client: FlaskClient, services: Services, tenant: Tenant, internal: RelayClient
) -> None:
    """Sentry's ``clean_newline_inputs``: Relay gets two domains, not the text's characters."""
    public_key = add_key(client, tenant)
    r = put_project(
        client,
        tenant,
        {
            "options": {
                "sentry:origins": " A.com\nb.com\n\n",
                "sentry:safe_fields": "Password\n",
                "sentry:sensitive_fields": ["Card", " "],
                "filters:blacklisted_ips": "10.0.0.1\n10.0.0.2",
                "sentry:scrub_ip_address": 1,
                "filters:chunk-load-error": False,
            }
        },
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["allowedDomains"] == ["a.com", "b.com"]
    assert r.get_json()["options"]["filters:chunk-load-error"] is False  # stored "0", shown as Sentry does
    assert r.get_json()["options"]["filters:blacklisted_ips"] == "10.0.0.1\n10.0.0.2"
    assert stored(r.get_json()["options"]) == {
        "sentry:blacklisted_ips": ["10.0.0.1", "10.0.0.2"],
        "sentry:origins": ["a.com", "b.com"],
        "sentry:safe_fields": ["password"],
        "sentry:scrub_ip_address": True,
        "sentry:sensitive_fields": ["card"],
    }
    every_view_folds(services)
    config = fetch(internal, services, {"publicKeys": [public_key]})["configs"][public_key]
    inner = config["config"]
    assert inner["allowedDomains"] == ["a.com", "b.com"]
    assert inner["datascrubbingSettings"]["excludeFields"] == ["password"]
    assert inner["datascrubbingSettings"]["sensitiveFields"] == ["card"]
    assert inner["datascrubbingSettings"]["scrubIpAddresses"] is True
    assert inner["filterSettings"]["clientIps"] == {"blacklistedIps": ["10.0.0.1", "10.0.0.2"]}
    normalize_project_config(inner)  # Relay's own library takes it


def test_keys_sentry_ignores_are_ignored(client: FlaskClient, services: Services, tenant: Tenant) -> None:
    """Sentry's endpoint stores only the keys it handles; ``sentry:blocked_metrics`` (whose
    mixed-type tags stopped the relay_configs view on a sort) is the metrics route's alone."""
    head = services.store.head()
    r = put_project(client, tenant, {"options": {"sentry:blocked_metrics": MIXED_TAGS, "sentry:x": 1}})
    assert r.status_code == 200 and stored(r.get_json()["options"]) == {}
    assert services.store.head() == head
    every_view_folds(services)


def test_tags_of_another_type_are_refused_by_the_metrics_route(
    client: FlaskClient, services: Services, tenant: Tenant
) -> None:
    head = services.store.head()
    r = client.put(
        f"/api/0/projects/{tenant.org_slug}/{tenant.project_slug}/metrics/visibility/",
        json={"operationType": "blockTags", "metricMri": "c:custom/x@none", "tags": [1, "a"]},
        headers=tenant.headers(),
    )
    assert r.status_code == 400 and "Every tag must be a string" in json.dumps(r.get_json())
    assert services.store.head() == head
    every_view_folds(services)


def test_custom_inbound_filters_need_the_feature(
    client: FlaskClient, services: Services, tenant: Tenant
) -> None:
    head = services.store.head()
    r = put_project(client, tenant, {"options": {"filters:releases": "1.0\n2.*"}})
    assert (r.status_code, r.get_json()) == (400, {"detail": "You do not have that feature enabled"})
    assert services.store.head() == head
    object.__setattr__(services.settings, "features", frozenset({"projects:custom-inbound-filters"}))
    r = put_project(client, tenant, {"options": {"filters:error_messages": "TypeError: *\nOops"}})
    assert r.status_code == 200, r.get_json()
    assert stored(r.get_json()["options"]) == {"sentry:error_messages": ["TypeError: *", "Oops"]}  # case kept
    every_view_folds(services)


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("POST", "keys/", {"name": "big", "rateLimit": {"count": 2**70, "window": 60}}),
        ("PUT", "keys/{key}/", {"rateLimit": {"count": 2**70, "window": 60}}),
    ],
)
def test_a_rate_limit_beyond_its_column_is_a_400(
    client: FlaskClient, services: Services, tenant: Tenant, method: str, suffix: str, body: Any
) -> None:
    """A count of 2**70 was a 201 whose event failed the project_keys view (bigint out of range)."""
    key = add_key(client, tenant)
    head = services.store.head()
    path = f"/api/0/projects/{tenant.org_slug}/{tenant.project_slug}/{suffix.format(key=key)}"
    r = client.open(path, method=method, json=body, headers=tenant.headers())
    expected = {"rateLimit": {"count": ["Ensure this value is less than or equal to 2147483647."]}}
    assert (r.status_code, r.get_json()) == (400, expected)
    assert services.store.head() == head
    every_view_folds(services)


def test_values_an_older_version_stored_unchecked_still_fold(
    client: FlaskClient, services: Services, tenant: Tenant, internal: RelayClient
) -> None:
    """A log written before the registry holds raw values: they fold, and read as their type
    (or as the default when they are not one)."""
    public_key = add_key(client, tenant)
    stream = streams.project(tenant.project_id)
    raw = {
        "sentry:origins": "a.com\nb.com",
        "sentry:safe_fields": 7,
        "sentry:csp_ignored_sources_defaults": True,
        "sentry:blocked_metrics": MIXED_TAGS,
        "sentry:resolve_age": "abc",
    }
    version = services.store.stream_version(stream)
    pending = [
        (stream, version + i, ProjectOptionSet(tenant.project_id, tenant.org_id, key, value))
        for i, (key, value) in enumerate(raw.items(), start=1)
    ]
    services.store.append(pending, OPERATOR, datetime.now(UTC))
    every_view_folds(services)
    inner = fetch(internal, services, {"publicKeys": [public_key]})["configs"][public_key]["config"]
    assert inner["allowedDomains"] == ["a.com", "b.com"]
    assert inner["datascrubbingSettings"]["excludeFields"] == []
    assert inner["metrics"]["deniedTags"] == [{"name": ["c:custom/x@none"], "tags": ["1", "a"]}]
    r = client.get(f"/api/0/projects/{tenant.org_slug}/{tenant.project_slug}/", headers=tenant.headers())
    assert r.status_code == 200 and r.get_json()["resolveAge"] == 0
    assert r.get_json()["allowedDomains"] == ["a.com", "b.com"]
