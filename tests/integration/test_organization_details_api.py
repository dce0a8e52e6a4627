"""``GET``/``PUT /api/0/organizations/{org}/``, black box, on SQLite and PostgreSQL:
every row of sentry-behaviour 5.6, the options table (5.2), the audit data (5.4), trusted
relays (5.5) and slug changes."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from flask.testing import FlaskClient
from sentry_relay.auth import generate_key_pair

from commands.org_options import ORG_OPTIONS
from infra.bootstrap import Services
from tests.conftest import Tenant, make_tenant, make_token


@pytest.fixture
def tenant(services: Services) -> Tenant:
    """With ``org:read``: Sentry shows a token without it only the summary."""
    return make_tenant(services, scopes=("project:read", "project:write", "org:read", "org:write"))


def relay_key() -> str:
    return str(generate_key_pair()[1])


def put(client: FlaskClient, t: Tenant, body: Any, token: str | None = None, slug: str | None = None) -> Any:
    return client.put(f"/api/0/organizations/{slug or t.org_slug}/", json=body, headers=t.headers(token))


def get(
    client: FlaskClient,
    t: Tenant,
    position: str | None = None,
    slug: str | None = None,
    token: str | None = None,
) -> Any:
    headers = {"X-Eventry-Min-Position": position} if position else {}
    response = client.get(
        f"/api/0/organizations/{slug or t.org_slug}/?include_feature_flags=1",
        headers=t.headers(token, **headers),
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def audit(client: FlaskClient, t: Tenant, position: str) -> list[dict[str, Any]]:
    response = client.get(
        f"/api/0/organizations/{t.org_slug}/audit-logs/?event=org.edit",
        headers=t.headers(**{"X-Eventry-Min-Position": position}),
    )
    return response.get_json()["rows"]


def ok(client: FlaskClient, t: Tenant, body: Any) -> Any:
    response = put(client, t, body)
    assert response.status_code == 200, response.get_json()
    return response


def test_defaults_of_a_new_organization(client: FlaskClient, tenant: Tenant) -> None:
    body = get(client, tenant)
    assert body["slug"] == tenant.org_slug and body["id"] == str(tenant.org_id)
    assert body["openMembership"] is True and body["allowSharedIssues"] is True
    assert body["allowMemberProjectCreation"] is True and body["allowMemberInvite"] is True
    assert (
        body["isEarlyAdopter"] is False and body["require2FA"] is False and body["enhancedPrivacy"] is False
    )
    assert body["dataScrubber"] is False and body["scrapeJavaScript"] is True
    assert body["sensitiveFields"] == [] and body["safeFields"] == [] and body["trustedRelays"] == []
    assert body["storeCrashReports"] == 0 and body["attachmentsRole"] == "member"
    assert body["debugFilesRole"] == "admin" and body["allowJoinRequests"] is True
    assert body["apdexThreshold"] is None and body["relayPiiConfig"] is None
    assert body["defaultRole"] == "member"
    assert "targetSampleRate" not in body  # only with the custom dynamic sampling feature
    assert {"open-membership", "shared-issues"} <= set(body["features"])
    assert [p["slug"] for p in body["projects"]] == [tenant.project_slug]


NO_SAMPLING = "Organization does not have the custom dynamic sample rate feature enabled."
NO_TRUSTED_ONLY = "Organization does not have the ingest through trusted relays only feature enabled."
NO_2FA = "Cannot require two-factor authentication without personal two-factor enabled."

# (request body, the message its only field gets)
ROWS = [
    ({"safeFields": "email"}, 'Expected a list of items but got type "str".'),
    ({"safeFields": [""]}, "Empty values are not allowed."),
    ({"sensitiveFields": [""]}, "Empty values are not allowed."),
    ({"sensitiveFields": ["x" * 4001]}, "List of sensitive fields is too long."),
    ({"storeCrashReports": 101}, "Ensure this value is less than or equal to 100."),
    ({"storeCrashReports": -2}, "Ensure this value is greater than or equal to -1."),
    ({"slug": "ab"}, 'This slug "ab" is too short. Minimum of 3 characters.'),
    ({"slug": "api"}, 'This slug "api" is reserved and not allowed.'),
    ({"slug": " foo-org "}, 'The slug "foo-org" should not contain any whitespace.'),
    ({"name": "x" * 65}, "Ensure this field has no more than 64 characters."),
    ({"name": None}, "This field may not be null."),
    ({"attachmentsRole": "boss"}, "Invalid role"),
    ({"debugFilesRole": "boss"}, "Invalid role"),
    ({"apdexThreshold": 0}, "Ensure this value is greater than or equal to 1."),
    ({"dataScrubber": "maybe"}, "Must be a valid boolean."),
    ({"require2FA": True}, NO_2FA),
    ({"relayPiiConfig": "nope"}, "expected ident at line 1 column 2"),
    ({"safeFields": ["$$$"]}, 'Invalid syntax near "$$$" (line 1)'),
    ({"targetSampleRate": 0.5}, NO_SAMPLING),
    ({"samplingMode": "project"}, NO_SAMPLING),
    ({"ingestThroughTrustedRelaysOnly": "enabled"}, NO_TRUSTED_ONLY),
    ({"enabledConsolePlatforms": ["xbox"]}, "Only staff members can toggle console platforms."),
    ({"consoleSdkInviteQuota": 3}, "Only staff members can change console SDK invite quota limit."),
    ({"defaultCodingAgentIntegrationId": "x"}, "A valid integer is required."),
    ({"defaultAutomatedRunStoppingPoint": "moon"}, '"moon" is not a valid choice.'),
    ({"dashboardsAsyncQueueParallelLimit": 0}, "Ensure this value is greater than or equal to 1."),
    ({"trustedRelays": None}, "This field may not be null."),
]


@pytest.mark.parametrize(("body", "message"), ROWS)
def test_invalid_fields_are_400_and_change_nothing(
    client: FlaskClient, services: Services, tenant: Tenant, body: dict[str, Any], message: str
) -> None:
    head = services.store.head()
    response = put(client, tenant, body)
    assert response.status_code == 400
    assert response.get_json() == {next(iter(body)): [message]}
    assert services.store.head() == head


@pytest.mark.parametrize("slug", ["1234", "-foo", "foo-", "foo_bar", "foo bar"])
def test_invalid_slugs(client: FlaskClient, tenant: Tenant, slug: str) -> None:
    response = put(client, tenant, {"slug": slug})
    assert response.status_code == 400
    assert response.get_json() == {
        "slug": [
            "Enter a valid slug consisting of letters, numbers, or hyphens. "
            "It cannot be entirely numeric or start/end with a hyphen."
        ]
    }


def test_a_slug_of_another_organization_is_taken(
    client: FlaskClient, services: Services, tenant: Tenant
) -> None:
    other = make_tenant(services)
    response = put(client, tenant, {"slug": other.org_slug})
    assert response.status_code == 400
    assert response.get_json() == {"slug": [f'The slug "{other.org_slug}" is already in use.']}


def test_slug_change_frees_the_old_slug_and_moves_the_paths(
    client: FlaskClient, services: Services, tenant: Tenant
) -> None:
    old, new = tenant.org_slug, f"{tenant.org_slug}-renamed"
    response = ok(client, tenant, {"slug": new, "name": "Renamed"})
    assert response.get_json()["slug"] == new and response.get_json()["name"] == "Renamed"
    position = response.headers["X-Eventry-Position"]
    assert get(client, tenant, position, slug=new)["slug"] == new
    assert client.get(f"/api/0/organizations/{old}/", headers=tenant.headers()).status_code == 404
    [entry] = audit(client, dataclasses.replace(tenant, org_slug=new), position)
    assert entry["data"] == {"name": f"from {old} to Renamed", "slug": f"from {old} to {new}"}
    assert (
        entry["note"]
        == f"edited the organization setting: name from {old} to Renamed, slug from {old} to {new}"
    )
    # the old slug is free: another organization can take it
    again = make_tenant(services, slug=old)
    assert again.org_slug == old


def test_same_slug_is_no_change(client: FlaskClient, services: Services, tenant: Tenant) -> None:
    head = services.store.head()
    assert ok(client, tenant, {"slug": tenant.org_slug}).get_json()["slug"] == tenant.org_slug
    assert services.store.head() == head


def test_flag_change_is_audited_by_flag_name(client: FlaskClient, tenant: Tenant) -> None:
    response = ok(client, tenant, {"openMembership": False, "allowSharedIssues": False})
    body = response.get_json()
    assert body["openMembership"] is False and body["allowSharedIssues"] is False
    [entry] = audit(client, tenant, response.headers["X-Eventry-Position"])
    assert entry["data"] == {"allow_joinleave": "to False", "disable_shared_issues": "to True"}
    assert "shared-issues" not in get(client, tenant, response.headers["X-Eventry-Position"])["features"]


def test_first_store_is_audited_only_when_not_the_default(
    client: FlaskClient, services: Services, tenant: Tenant
) -> None:
    first = ok(client, tenant, {"dataScrubber": True, "scrapeJavaScript": True})
    [entry] = audit(client, tenant, first.headers["X-Eventry-Position"])
    assert entry["data"] == {"dataScrubber": "to True"}
    assert entry["note"] == "edited the organization setting: dataScrubber to True"
    second = ok(client, tenant, {"dataScrubber": False, "scrapeJavaScript": True})
    rows = audit(client, tenant, second.headers["X-Eventry-Position"])
    assert rows[0]["data"] == {"dataScrubber": "from True to False"} and len(rows) == 2
    head = services.store.head()
    ok(client, tenant, {"dataScrubber": False, "scrapeJavaScript": True})  # nothing changes
    assert services.store.head() == head


def test_the_default_stored_the_first_time_is_stored_but_not_audited(
    client: FlaskClient, services: Services, tenant: Tenant
) -> None:
    response = ok(client, tenant, {"allowJoinRequests": True})
    position = response.headers["X-Eventry-Position"]
    assert audit(client, tenant, position) == []
    options = client.get(
        f"/api/0/organizations/{tenant.org_slug}/options/",
        headers=tenant.headers(**{"X-Eventry-Min-Position": position}),
    )
    assert options.status_code == 200 and options.get_json()["sentry:join_requests"] is True
    head = services.store.head()
    ok(client, tenant, {"allowJoinRequests": True})
    assert services.store.head() == head


def test_every_option_round_trips(client: FlaskClient, services: Services, tenant: Tenant) -> None:
    services.settings = dataclasses.replace(
        services.settings,
        features=frozenset(
            {"organizations:dynamic-sampling-custom", "organizations:ingest-through-trusted-relays-only"}
        ),
    )
    body = {
        "dataScrubber": True, "sensitiveFields": ["ssn"], "safeFields": ["$user.email"],
        "scrapeJavaScript": False, "dataScrubberDefaults": True, "storeCrashReports": -1,
        "attachmentsRole": "admin", "debugFilesRole": "member", "eventsMemberAdmin": False,
        "alertsMemberWrite": False, "scrubIPAddresses": True, "relayPiiConfig": "{}",
        "allowJoinRequests": False, "apdexThreshold": 500, "hideAiFeatures": True,
        "githubPRBot": False, "githubNudgeInvite": False, "gitlabPRBot": False,
        "issueAlertsThreadFlag": False, "metricAlertsThreadFlag": False, "targetSampleRate": 0.5,
        "samplingMode": "organization", "rollbackEnabled": False, "defaultAutofixAutomationTuning": "low",
        "defaultSeerScannerAutomation": False, "enableSeerEnhancedAlerts": False, "enableSeerCoding": False,
        "defaultCodingAgent": "cursor", "defaultCodingAgentIntegrationId": None, "autoOpenPrs": True,
        "defaultAutomatedRunStoppingPoint": "open_pr", "autoEnableCodeReview": False,
        "defaultCodeReviewTriggers": ["on_new_commit"], "ingestThroughTrustedRelaysOnly": "enabled",
        "dashboardsAsyncQueueParallelLimit": 4,
    }  # fmt: skip
    response = ok(client, tenant, body)
    shown = get(client, tenant, response.headers["X-Eventry-Position"])
    expected = {**body, "defaultCodingAgent": "cursor_background_agent"}
    assert {k: shown[k] for k in expected} == expected
    stored = client.get(
        f"/api/0/organizations/{tenant.org_slug}/options/", headers=tenant.headers()
    ).get_json()
    keys = {o.key for o in ORG_OPTIONS if o.field in body}
    assert keys <= set(stored)
    assert stored["sentry:store_crash_reports"] == -1 and stored["sentry:apdex_threshold"] == 500


def test_sensitive_fields_may_be_emptied(client: FlaskClient, tenant: Tenant) -> None:
    response = ok(client, tenant, {"sensitiveFields": []})
    assert response.get_json()["sensitiveFields"] == []
    stored = client.get(
        f"/api/0/organizations/{tenant.org_slug}/options/",
        headers=tenant.headers(**{"X-Eventry-Min-Position": response.headers["X-Eventry-Position"]}),
    ).get_json()
    assert stored["sentry:sensitive_fields"] == []


def test_store_crash_reports_unlimited(client: FlaskClient, tenant: Tenant) -> None:
    assert ok(client, tenant, {"storeCrashReports": -1}).get_json()["storeCrashReports"] == -1


def test_trusted_relays_storage_stamping_and_audit(
    client: FlaskClient, services: Services, tenant: Tenant
) -> None:
    key = relay_key()
    first = ok(client, tenant, {"trustedRelays": [{"name": " edge ", "publicKey": key}]})
    [shown] = first.get_json()["trustedRelays"]
    assert shown["name"] == "edge" and shown["publicKey"] == key
    assert shown["created"] == shown["lastModified"] and "description" not in shown
    position = first.headers["X-Eventry-Position"]
    stored = client.get(
        f"/api/0/organizations/{tenant.org_slug}/options/",
        headers=tenant.headers(**{"X-Eventry-Min-Position": position}),
    ).get_json()["sentry:trusted-relays"]
    assert stored == [
        {"public_key": key, "name": "edge", "description": None, "created": shown["created"],
         "last_modified": shown["created"]}
    ]  # fmt: skip
    [entry] = audit(client, tenant, position)
    assert entry["data"] == {"trustedRelays": f"to {stored}"}

    head = services.store.head()
    ok(client, tenant, {"trustedRelays": [{"name": "edge", "publicKey": key}]})  # same list
    assert services.store.head() == head

    described = ok(
        client, tenant, {"trustedRelays": [{"name": "edge", "publicKey": key, "description": "d"}]}
    )
    [after] = described.get_json()["trustedRelays"]
    assert after["created"] == shown["created"] and after["lastModified"] > shown["lastModified"]
    rows = audit(client, tenant, described.headers["X-Eventry-Position"])
    assert rows[0]["data"]["trustedRelays"].startswith(f"from {stored} to [")

    removed = ok(client, tenant, {"trustedRelays": []})
    assert removed.get_json()["trustedRelays"] == []


@pytest.mark.parametrize(
    ("relays", "errors"),
    [
        ("nope", ['Expected a list of items but got type "str".']),
        (["nope"], {"0": ["Bad structure received for Trusted Relays"]}),
        ([{"publicKey": "k"}], {"0": ["Relay key info with missing name in Trusted Relays"]}),
        ([{"name": "  ", "publicKey": "k"}], {"0": ["Relay key info with empty name in Trusted Relays"]}),
        ([{"name": "n"}], {"0": ["Missing public key for relay key info with name:'n' in Trusted Relays"]}),
        (
            [{"name": "n", "publicKey": "bad"}],
            {"0": ["Invalid public key for relay key info with name:'n' in Trusted Relays"]},
        ),
    ],
)
def test_trusted_relay_items_are_validated(
    client: FlaskClient, tenant: Tenant, relays: Any, errors: Any
) -> None:
    response = put(client, tenant, {"trustedRelays": relays})
    assert response.status_code == 400
    assert response.get_json() == {"trustedRelays": errors}


def test_a_duplicated_relay_key_is_refused(client: FlaskClient, tenant: Tenant) -> None:
    key = relay_key()
    response = put(
        client, tenant, {"trustedRelays": [{"name": "a", "publicKey": key}, {"name": "b", "publicKey": key}]}
    )
    assert response.status_code == 400
    assert response.get_json() == {"trustedRelays": [f"Duplicated key in Trusted Relays: '{key}'"]}


def test_target_sample_rate_with_the_feature(client: FlaskClient, services: Services, tenant: Tenant) -> None:
    services.settings = dataclasses.replace(
        services.settings, features=frozenset({"organizations:dynamic-sampling-custom"})
    )
    response = ok(client, tenant, {"targetSampleRate": 0.5})
    assert (
        response.get_json()["targetSampleRate"] == 0.5
        and response.get_json()["samplingMode"] == "organization"
    )
    too_high = put(client, tenant, {"targetSampleRate": 1.5})
    assert too_high.status_code == 400
    assert too_high.get_json() == {"targetSampleRate": ["Ensure this value is less than or equal to 1."]}
    refused = put(client, tenant, {"samplingMode": "project", "targetSampleRate": 0.2})
    assert refused.get_json() == {
        "non_field_errors": ["Must be in Automatic Mode to configure the organization sample rate."]
    }
    advanced = ok(client, tenant, {"samplingMode": "project"})
    [entry, *_] = audit(client, tenant, advanced.headers["X-Eventry-Position"])
    assert entry["data"] == {"samplingMode": "to Advanced Mode"}
    assert advanced.get_json()["targetSampleRate"] == 1.0  # the organization's rate was dropped
    assert put(client, tenant, {"targetSampleRate": 0.3}).status_code == 400  # still in project mode


def test_codecov_access_needs_a_plan_then_an_integration(
    client: FlaskClient, services: Services, tenant: Tenant
) -> None:
    response = put(client, tenant, {"codecovAccess": True})
    assert response.status_code == 403
    assert response.get_json() == {"detail": "A paid plan is required to enable this feature."}
    services.settings = dataclasses.replace(
        services.settings, features=frozenset({"organizations:codecov-integration"})
    )
    response = put(client, tenant, {"codecovAccess": True})
    assert response.status_code == 400 and list(response.get_json()) == ["codecovAccess"]
    assert ok(client, tenant, {"codecovAccess": False}).get_json()["codecovAccess"] is False


def test_default_role_needs_org_admin(client: FlaskClient, services: Services, tenant: Tenant) -> None:
    head = services.store.head()
    ok(client, tenant, {"defaultRole": "admin"})  # org:write: the field is not part of the serializer
    assert services.store.head() == head
    admin, _ = make_token(services, tenant.org_id, ("org:admin",))
    response = put(client, tenant, {"defaultRole": "admin"}, token=admin)
    assert response.status_code == 200 and response.get_json()["defaultRole"] == "admin"
    bad = put(client, tenant, {"defaultRole": "boss"}, token=admin)
    assert bad.status_code == 400 and bad.get_json() == {"defaultRole": ['"boss" is not a valid choice.']}


def test_org_read_cannot_write(client: FlaskClient, services: Services, tenant: Tenant) -> None:
    reader, _ = make_token(services, tenant.org_id, ("org:read",))
    assert (
        client.get(f"/api/0/organizations/{tenant.org_slug}/", headers=tenant.headers(reader)).status_code
        == 200
    )
    response = put(client, tenant, {"name": "x"}, token=reader)
    assert response.status_code == 403


def test_not_a_json_object(client: FlaskClient, tenant: Tenant) -> None:
    response = put(client, tenant, [1, 2])
    assert response.status_code == 400
    assert response.get_json() == {"non_field_errors": ["Invalid data. Expected a dictionary."]}


def owner(services: Services, t: Tenant) -> str:
    return make_token(services, t.org_id, ("org:read", "org:write", "org:admin"))[0]


def org_audit(client: FlaskClient, t: Tenant, token: str, event: str) -> list[dict[str, Any]]:
    response = client.get(
        f"/api/0/organizations/{t.org_slug}/audit-logs/?event={event}", headers=t.headers(token)
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()["rows"]  # type: ignore[no-any-return]


def test_delete_is_pending_deletion_until_cancelled(
    client: FlaskClient, services: Services, tenant: Tenant
) -> None:
    """Sentry: 202 with the organization, ``org.remove`` with ``get_audit_log_data()``; a second
    DELETE is a no-op; an owner's ``cancelDeletion`` restores it and audits ``org.restore``
    (not ``org.edit``, even with other changes)."""
    token = owner(services, tenant)
    url = f"/api/0/organizations/{tenant.org_slug}/"
    response = client.delete(url, headers=tenant.headers(token))
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["status"] == {"id": "pending_deletion", "name": "pending deletion"}
    assert client.delete(url, headers=tenant.headers(token)).status_code == 202
    assert get(client, tenant, token=token)["status"]["id"] == "pending_deletion"
    [removed] = org_audit(client, tenant, token, "org.remove")
    assert removed["note"] == "removed the organization" and removed["targetObject"] == tenant.org_id
    assert removed["data"] == {
        "id": tenant.org_id, "slug": tenant.org_slug, "name": tenant.org_slug,
        "status": 1, "flags": 1, "default_role": "member",
    }  # fmt: skip
    restored = put(client, tenant, {"cancelDeletion": True, "dataScrubber": True}, token=token)
    assert restored.status_code == 200 and restored.get_json()["status"]["id"] == "active"
    assert get(client, tenant, token=token)["dataScrubber"] is True
    [entry] = org_audit(client, tenant, token, "org.restore")
    assert entry["data"]["status"] == 0 and entry["note"] == "restored the organization"
    assert org_audit(client, tenant, token, "org.edit") == []


def test_delete_needs_org_admin_and_an_organization(
    client: FlaskClient, services: Services, tenant: Tenant
) -> None:
    url = f"/api/0/organizations/{tenant.org_slug}/"
    assert client.delete(url, headers=tenant.headers()).status_code == 403  # org:write only
    token = owner(services, tenant)
    assert (
        client.delete("/api/0/organizations/no-such-org/", headers=tenant.headers(token)).status_code == 404
    )
    assert get(client, tenant)["status"]["id"] == "active"


def test_cancel_deletion_needs_org_admin(client: FlaskClient, services: Services, tenant: Tenant) -> None:
    url, token = f"/api/0/organizations/{tenant.org_slug}/", owner(services, tenant)
    assert client.delete(url, headers=tenant.headers(token)).status_code == 202
    assert put(client, tenant, {"cancelDeletion": True}).status_code == 200  # ignored for org:write
    assert get(client, tenant, token=token)["status"]["id"] == "pending_deletion"


def test_an_uppercase_slug_is_refused(client: FlaskClient, services: Services, tenant: Tenant) -> None:
    head = services.store.head()
    response = put(client, tenant, {"slug": "Acme-Two"})
    assert response.status_code == 400
    assert response.get_json() == {"slug": ['The slug "Acme-Two" is in use by another organization.']}
    assert services.store.head() == head


def test_what_the_details_show_depends_on_org_read_and_detailed(
    client: FlaskClient, services: Services, tenant: Tenant
) -> None:
    """Sentry's ``OrganizationDetailsEndpoint.get``: without org:read the base serializer's
    summary; with it the details, and projects and teams unless ``?detailed=0``; features
    only with ``?include_feature_flags=1``."""
    summary = {
        "id", "slug", "status", "name", "dateCreated", "isEarlyAdopter", "require2FA",
        "requireEmailVerification", "avatar", "allowMemberInvite", "allowMemberProjectCreation",
        "allowSuperuserAccess", "links", "hasAuthProvider", "access",
    }  # fmt: skip
    url = f"/api/0/organizations/{tenant.org_slug}/"
    writer, _ = make_token(services, tenant.org_id, ("org:write",))
    assert set(client.get(url, headers=tenant.headers(writer)).get_json()) == summary
    flagged = client.get(url + "?include_feature_flags=1", headers=tenant.headers(writer)).get_json()
    assert set(flagged) == summary | {"features"}
    not_detailed = client.get(url + "?detailed=0", headers=tenant.headers()).get_json()
    assert summary < set(not_detailed) and "dataScrubber" in not_detailed
    assert "projects" not in not_detailed and "teams" not in not_detailed and "features" not in not_detailed
    detailed = client.get(url, headers=tenant.headers()).get_json()
    assert set(detailed) == set(not_detailed) | {"projects", "teams"}


def test_newer_sentry_defaults(client: FlaskClient, tenant: Tenant) -> None:
    body = get(client, tenant)
    assert body["defaultCodingAgent"] is None and body["defaultCodingAgentIntegrationId"] is None
    assert "ingestThroughTrustedRelaysOnly" not in body  # only with its feature
    data = ok(client, tenant, {"defaultCodingAgentIntegrationId": 123}).get_json()
    assert data["defaultCodingAgentIntegrationId"] == 123


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"start": "2026-01-01T00:00:00Z"}, {"detail": "start and end are both required"}),
        ({"start": "2026-01-02T00:00Z", "end": "2026-01-01T00:00Z"}, {"detail": "start must be before end"}),
        ({"statsPeriod": "forever"}, {"detail": "Invalid statsPeriod"}),
        ({"statsPeriod": "91d"}, {"detail": "Invalid statsPeriod"}),
        ({"start": "yesterday", "end": "2026-01-01T00:00:00Z"}, {"start": [
            "Datetime has wrong format. Use one of these formats instead: "
            "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
        ]}),
    ],
)  # fmt: skip
def test_audit_log_date_range_errors(
    client: FlaskClient, tenant: Tenant, query: dict[str, str], message: dict[str, Any]
) -> None:
    response = client.get(
        f"/api/0/organizations/{tenant.org_slug}/audit-logs/", query_string=query, headers=tenant.headers()
    )
    assert response.status_code == 400 and response.get_json() == message


def test_audit_log_date_range_keeps_what_it_spans(client: FlaskClient, tenant: Tenant) -> None:
    ok(client, tenant, {"name": "Dated"})
    url = f"/api/0/organizations/{tenant.org_slug}/audit-logs/"
    [edit] = client.get(url, query_string={"event": "org.edit"}, headers=tenant.headers()).get_json()["rows"]
    naive = edit["dateCreated"].removesuffix("Z")[:19]  # a naive time is UTC, as Django's is
    inside = {"event": "org.edit", "start": naive[:17] + "00", "end": naive[:11] + "23:59:59"}
    assert len(client.get(url, query_string=inside, headers=tenant.headers()).get_json()["rows"]) == 1
    before = {"event": "org.edit", "start": "2020-01-01T00:00:00Z", "end": "2020-01-02T00:00:00Z"}
    assert client.get(url, query_string=before, headers=tenant.headers()).get_json()["rows"] == []
    recent = {"event": "org.edit", "statsPeriod": "1h"}
    assert len(client.get(url, query_string=recent, headers=tenant.headers()).get_json()["rows"]) == 1


def test_replay_access_needs_org_admin_and_names_no_users(
    client: FlaskClient, services: Services, tenant: Tenant
) -> None:
    """Sentry's ``hasGranularReplayPermissions``/``replayAccessMembers``: an org:write token is
    refused (403); member user ids cannot be named (tokens have no users): 400; neither appends."""
    owner_ = owner(services, tenant)
    head = services.store.head()
    refused = put(client, tenant, {"hasGranularReplayPermissions": True})
    assert refused.status_code == 403
    bad = put(client, tenant, {"replayAccessMembers": [7, 3]}, token=owner_)
    assert bad.status_code == 400
    assert bad.get_json() == {
        "replayAccessMembers": ["Invalid user IDs (not members of this organization): [3, 7]"]
    }
    assert put(client, tenant, {"hasGranularReplayPermissions": "maybe"}, token=owner_).status_code == 400
    assert services.store.head() == head
    set_ = put(
        client, tenant, {"hasGranularReplayPermissions": True, "replayAccessMembers": []}, token=owner_
    )
    assert set_.status_code == 200 and set_.get_json()["hasGranularReplayPermissions"] is True
    assert get(client, tenant, token=owner_)["replayAccessMembers"] == []
