"""Port of Sentry's ``tests/sentry/core/endpoints/test_organization_details.py``
(getsentry/sentry @ 0253b119f70d0c81352c1e67a61a8d80fb6d12a7, the newest stored version: cells,
console platforms, coding agents, granular replay permissions), as black-box HTTP tests.

Adaptations: organization options Sentry reads with ``get_option`` are read from
``GET /organizations/{org}/options/`` (eventry's view of the same options); audit entries from
the audit log (filtered to ``org.edit``, since eventry's setup writes are audited too); Sentry's
``with self.feature(...)`` is the app started with ``EVENTRY_FEATURES``; roles are tokens with
the role's scopes (member: ``org:read``; admin and manager: ``org:read``, ``org:write``;
owner: ``org:admin`` too). ``update_option`` preconditions are set with a ``PUT`` first.

Not ported (no counterpart in eventry): customer domains and cells
(``test_simple_customer_domain``, ``test_org_mismatch_customer_domain``,
``test_org_mapping_already_taken_org_in_other_region``, ``test_update_org_mapping_on_deletion``),
superusers and staff (``test_as_superuser``, the staff ``enabledConsolePlatforms`` tests), avatars,
onboarding tasks and the onboarding feature flag, quota-backed dynamic sampling
(``test_is_dynamically_sampled*``, the tests that need project sample rates or stored metrics),
integrations and 2FA enrolment (``test_various_options``,
``test_setting_codecov_without_integration_forbidden`` needs a GitHub integration),
organization members (``replayAccessMembers`` tests naming members, role tests of replay
permissions), relocation, the single-organization mode, published Sentry apps, the deletion
mail, and ``OrganizationSettings2FATest``.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient

from commands.slugs import RESERVED_ORGANIZATION_SLUGS
from infra.bootstrap import Services
from infra.config import Settings
from tests.sentry.releases_support import Org, make_bare_org, rebind, running

VALID_RELAY_KEYS = [
    "IbXZDWy8DcGLVoT_Z6-ODALEnsyhKiC_i-0r3azaztQ",
    "CZa3eDblYqBVoxK3O_4fr5WBbUmUVwc6FrRXbOQTPfk",
    "gyKnK-__yfEOweJ95sB1JoqAh6VlS4c_uIwsrrQ4G7E",
    "kSdr7ozq2T3gLg7FehJro2PH_NnNMJrrCslleKGZQd8",
]
MEMBER = ("org:read", "project:read", "event:read", "member:read", "team:read")
ADMIN = ("org:read", "org:write", "project:read", "project:write", "member:read", "team:read")
DS = "organizations:dynamic-sampling-custom"
TRUSTED_ONLY = "organizations:ingest-through-trusted-relays-only"


@pytest.fixture
def org(client: FlaskClient, services: Services) -> Org:
    return make_bare_org(client, services)


def details(org: Org, token: str | None = None, **query: Any) -> dict[str, Any]:
    response = org.get(org.url, token=token, **query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def update(org: Org, body: dict[str, Any], status: int = 200, token: str | None = None) -> Any:
    response = org.put(org.url, body, token=token)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def options(org: Org) -> dict[str, Any]:
    response = org.get(org.url + "options/")
    assert response.status_code == 200, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def org_edits(org: Org) -> list[dict[str, Any]]:
    response = org.get(org.audit_url, event="org.edit")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["rows"]  # type: ignore[no-any-return]


# OrganizationDetailsTest (GET)


@pytest.mark.xfail(
    strict=True,
    reason="eventry's organization body has no role/orgRole (a token has no member role)",
)
def test_organization_details__OrganizationDetailsTest__test_simple(org: Org) -> None:
    """``links`` hold Sentry's test server host; only their keys are compared."""
    data = details(org, include_feature_flags=1)
    assert data["slug"] == org.slug
    assert set(data["links"]) == {"organizationUrl", "regionUrl"}
    assert data["id"] == str(org.id)
    assert data["role"] == "owner"
    assert data["orgRole"] == "owner"
    assert len(data["teams"]) == 0
    assert len(data["projects"]) == 0


def test_organization_details__OrganizationDetailsTest__test_include_feature_flag_query_param(
    org: Org,
) -> None:
    assert "features" in details(org, include_feature_flags=1)
    assert "features" not in details(org)


def test_organization_details__OrganizationDetailsTest__test_with_projects(org: Org) -> None:
    """The deleted team is left out (no team deletion route yet); the deleted project is a
    project removed through the API."""
    for name in ("no-member", "team"):
        r = org.post(org.url + "teams/", {"slug": name})
        assert r.status_code == 201, r.get_json()
    for _ in range(4):
        org.create_project()
    deleted = org.create_project("deleted", slug="deleted")
    assert org.delete(f"/api/0/projects/{org.slug}/{deleted['slug']}/").status_code in (202, 204)
    data = details(org)
    project_slugs = [p["slug"] for p in data["projects"]]
    assert len(project_slugs) == 4
    assert "deleted" not in project_slugs
    team_slugs = [t["slug"] for t in data["teams"]]
    assert len(team_slugs) == 2
    assert "deleted" not in team_slugs


def test_organization_details__OrganizationDetailsTest__test_details_no_projects_or_teams(org: Org) -> None:
    for _ in range(2):
        org.create_project()
    data = details(org, detailed=0)
    assert "projects" not in data
    assert "teams" not in data


def test_organization_details__OrganizationDetailsTest__test_as_no_org_read_user(org: Org) -> None:
    """Sentry patches ``has_scope`` to allow only ``org:write``: a token with only that scope."""
    data = details(org, token=org.token("org:write"))
    assert "access" in data
    assert "projects" not in data
    assert "teams" not in data
    assert "orgRoleList" not in data


def test_organization_details__OrganizationDetailsTest__test_trusted_relays_info(org: Org) -> None:
    trusted_relays = [
        {"publicKey": VALID_RELAY_KEYS[0], "name": "name1", "description": "description1"},
        {"publicKey": VALID_RELAY_KEYS[1], "name": "name2", "description": "description2"},
    ]
    start_time = datetime.now(UTC)
    update(org, {"trustedRelays": trusted_relays})
    end_time = datetime.now(UTC)
    response_data = details(org).get("trustedRelays")
    assert response_data is not None
    assert len(response_data) == len(trusted_relays)
    for got, sent in zip(response_data, trusted_relays, strict=True):
        assert got["publicKey"] == sent["publicKey"]
        assert got["name"] == sent["name"]
        assert got["description"] == sent["description"]
        assert start_time < datetime.fromisoformat(got["lastModified"]) < end_time
        assert start_time < datetime.fromisoformat(got["created"]) < end_time


def test_organization_details__OrganizationDetailsTest__test_has_auth_provider(org: Org) -> None:
    """The second half needs an ``AuthProvider`` (SSO), which eventry does not have."""
    assert details(org)["hasAuthProvider"] is False


def test_organization_details__OrganizationDetailsTest__test_dynamic_sampling_custom_target_sample_rate(
    settings: Settings,
) -> None:
    with running(settings, DS) as (client, svc):
        org = make_bare_org(client, svc)
        assert details(org)["targetSampleRate"] == 1.0
    with running(settings) as (client, svc):
        assert "targetSampleRate" not in details(rebind(org, client, svc))


def test_organization_details__OrganizationDetailsTest__test_dynamic_sampling_custom_sampling_mode(
    settings: Settings,
) -> None:
    with running(settings, DS) as (client, svc):
        org = make_bare_org(client, svc)
        assert details(org)["samplingMode"] == "organization"
    with running(settings) as (client, svc):
        assert "samplingMode" not in details(rebind(org, client, svc))


def test_organization_details__OrganizationDetailsTest__test_cannot_set_target_sample_rate_in_project_mode(
    settings: Settings,
) -> None:
    with running(settings, DS) as (client, svc):
        org = make_bare_org(client, svc)
        update(org, {"samplingMode": "project"})
        response = org.put(org.url, {"targetSampleRate": 0.5})
        assert response.status_code == 400
        assert response.get_json() == {
            "non_field_errors": ["Must be in Automatic Mode to configure the organization sample rate."]
        }


def test_organization_details__OrganizationDetailsTest__test_sampling_mode_default_when_not_set(
    settings: Settings,
) -> None:
    with running(settings, DS) as (client, svc):
        org = make_bare_org(client, svc)
        update(org, {"targetSampleRate": 0.5})
        assert options(org)["sentry:target_sample_rate"] == 0.5


def test_organization_details__OrganizationDetailsTest__test_sampling_mode_org_to_project(
    settings: Settings,
) -> None:
    """The project rates Sentry checks are left out (set with ``update_option`` on projects)."""
    with running(settings, DS) as (client, svc):
        org = make_bare_org(client, svc)
        update(org, {"samplingMode": "organization", "targetSampleRate": 0.4})
        update(org, {"samplingMode": "project"})
        assert not options(org).get("sentry:target_sample_rate")


def test_organization_details__OrganizationDetailsTest__test_change_just_org_target_sample_rate(
    settings: Settings,
) -> None:
    with running(settings, DS) as (client, svc):
        org = make_bare_org(client, svc)
        update(org, {"samplingMode": "organization", "targetSampleRate": 0.4})
        assert options(org)["sentry:target_sample_rate"] == 0.4
        update(org, {"targetSampleRate": 0.1})
        assert options(org)["sentry:target_sample_rate"] == 0.1
        update(org, {"unrelatedData": "hello"})
        assert options(org)["sentry:target_sample_rate"] == 0.1


def test_organization_details__OrganizationDetailsTest__test_sampling_mode_change_requires_write_scope(
    settings: Settings,
) -> None:
    with running(settings, DS) as (client, svc):
        org = make_bare_org(client, svc)
        response = org.put(org.url, {"samplingMode": "organization"}, token=org.token(*MEMBER))
        assert response.status_code == 403


def test_organization_details__OrganizationDetailsTest__test_sensitive_fields_too_long(org: Org) -> None:
    value = 1000 * ["0123456789"] + ["1"]
    assert org.put(org.url, {"sensitiveFields": value}).status_code == 400


# OrganizationUpdateTest (PUT)


def test_organization_details__OrganizationUpdateTest__test_simple(org: Org) -> None:
    update(org, {"name": "hello world", "slug": "foobar"})
    response = org.get("/api/0/organizations/foobar/")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["name"] == "hello world"
    assert response.get_json()["slug"] == "foobar"


def test_organization_details__OrganizationUpdateTest__test_include_feature_flag_query_param(
    org: Org,
) -> None:
    response = org.client.put(org.url + "?include_feature_flags=1", json={}, headers=org.headers())
    assert response.status_code == 200, response.get_json()
    assert "features" in response.get_json()
    assert "features" not in update(org, {})


def test_organization_details__OrganizationUpdateTest__test_dupe_slug(
    client: FlaskClient, services: Services, org: Org
) -> None:
    make_bare_org(client, services, slug="duplicate")
    update(org, {"slug": "duplicate"}, status=400)


def test_organization_details__OrganizationUpdateTest__test_short_slug(org: Org) -> None:
    update(org, {"slug": "a"}, status=400)


def test_organization_details__OrganizationUpdateTest__test_reserved_slug(org: Org) -> None:
    update(org, {"slug": sorted(RESERVED_ORGANIZATION_SLUGS)[0]}, status=400)


def test_organization_details__OrganizationUpdateTest__test_valid_slugs(org: Org) -> None:
    for slug in ["santry", "downtown-canada", "1234-foo"]:
        update(org, {"slug": slug})
        org = Org(org.client, org.services, dataclasses.replace(org.tenant, org_slug=slug))


def test_organization_details__OrganizationUpdateTest__test_invalid_slugs(org: Org) -> None:
    for slug in [
        " i have whitespace ", "foo-bar ", "bird-company!", "downtown_canada", "canada-",
        "-canada", "----", "1234", "I-contain-UPPERCASE",
    ]:  # fmt: skip
        update(org, {"slug": slug}, status=400)


def test_organization_details__OrganizationUpdateTest__test_setting_codecov_without_paid_plan_forbidden(
    org: Org,
) -> None:
    update(org, {"codecovAccess": True}, status=403)


def test_organization_details__OrganizationUpdateTest__test_setting_duplicate_trusted_keys(org: Org) -> None:
    trusted_relays = [
        {"publicKey": VALID_RELAY_KEYS[0], "name": "name1", "description": "description1"},
        {"publicKey": VALID_RELAY_KEYS[1], "name": "name2", "description": "description2"},
        {"publicKey": VALID_RELAY_KEYS[0], "name": "name1 2", "description": "description1 2"},
    ]
    response_data = update(org, {"trustedRelays": trusted_relays}, status=400).get("trustedRelays")
    assert response_data is not None
    assert VALID_RELAY_KEYS[0] in str(response_data)


def test_organization_details__OrganizationUpdateTest__test_creating_trusted_relays(org: Org) -> None:
    trusted_relays = [
        {"publicKey": VALID_RELAY_KEYS[0], "name": "name1", "description": "description1"},
        {"publicKey": VALID_RELAY_KEYS[1], "name": "name2", "description": "description2"},
    ]
    start_time = datetime.now(UTC)
    response_data = update(org, {"trustedRelays": trusted_relays}).get("trustedRelays")
    end_time = datetime.now(UTC)

    actual = options(org)["sentry:trusted-relays"]
    assert len(actual) == len(trusted_relays)
    assert len(response_data) == len(trusted_relays)
    for stored, got, sent in zip(actual, response_data, trusted_relays, strict=True):
        assert stored["public_key"] == sent["publicKey"]
        assert stored["name"] == sent["name"]
        assert stored["description"] == sent["description"]
        assert got["publicKey"] == sent["publicKey"]
        assert got["name"] == sent["name"]
        assert got["description"] == sent["description"]
        assert start_time < datetime.fromisoformat(stored["last_modified"]) < end_time
        assert got["lastModified"] == stored["last_modified"]
        assert start_time < datetime.fromisoformat(stored["created"]) < end_time
        assert got["created"] == stored["created"]

    (log,) = org_edits(org)
    trusted_relay_log = log["data"]["trustedRelays"]
    assert trusted_relay_log.startswith("to ")
    assert trusted_relays[0]["publicKey"] in trusted_relay_log
    assert trusted_relays[1]["publicKey"] in trusted_relay_log


def test_organization_details__OrganizationUpdateTest__test_modifying_trusted_relays(org: Org) -> None:
    initial = [
        {"publicKey": VALID_RELAY_KEYS[0], "name": "name1", "description": "description1"},
        {"publicKey": VALID_RELAY_KEYS[1], "name": "name2", "description": "description2"},
        {"publicKey": VALID_RELAY_KEYS[2], "name": "name3", "description": "description3"},
    ]
    modified = [
        {"publicKey": VALID_RELAY_KEYS[1], "name": "name2", "description": "description2"},
        {"publicKey": VALID_RELAY_KEYS[2], "name": "name3 modified", "description": "description3 modified"},
        {"publicKey": VALID_RELAY_KEYS[3], "name": "name4", "description": "description4"},
    ]
    start_time = datetime.now(UTC)
    update(org, {"trustedRelays": initial})
    after_initial = datetime.now(UTC)
    update(org, {"trustedRelays": modified})
    after_final = datetime.now(UTC)

    actual = options(org)["sentry:trusted-relays"]
    assert len(actual) == len(modified)
    for stored, sent in zip(actual, modified, strict=True):
        assert stored["public_key"] == sent["publicKey"]
        assert stored["name"] == sent["name"]
        assert stored["description"] == sent["description"]
        last_modified = datetime.fromisoformat(stored["last_modified"])
        created = datetime.fromisoformat(stored["created"])
        if sent["publicKey"] == VALID_RELAY_KEYS[1]:  # not modified
            assert start_time < created < after_initial
            assert start_time < last_modified < after_initial
        elif sent["publicKey"] == VALID_RELAY_KEYS[2]:  # updated
            assert start_time < created < after_initial
            assert after_initial < last_modified < after_final
        else:  # new
            assert after_initial < created < after_final
            assert after_initial < last_modified < after_final

    first_log, second_log = org_edits(org)
    logs = [first_log["data"]["trustedRelays"], second_log["data"]["trustedRelays"]]
    modif_log = logs[1] if logs[0].startswith("to ") else logs[0]
    assert modif_log.startswith("from ")
    for sent in modified:
        assert sent["publicKey"] in modif_log


def test_organization_details__OrganizationUpdateTest__test_deleting_trusted_relays(org: Org) -> None:
    update(org, {"trustedRelays": [{"publicKey": VALID_RELAY_KEYS[0], "name": "name1", "description": "d1"}]})
    response_data = update(org, {"trustedRelays": []}).get("trustedRelays")
    assert len(options(org).get("sentry:trusted-relays") or []) == 0
    assert len(response_data) == 0


def test_organization_details__OrganizationUpdateTest__test_safe_fields_as_string_regression(
    org: Org,
) -> None:
    update(org, {"safeFields": "email"}, status=400)
    assert not options(org).get("sentry:safe_fields")


def test_organization_details__OrganizationUpdateTest__test_manager_cannot_set_default_role(org: Org) -> None:
    manager = org.token(*ADMIN)
    update(org, {"defaultRole": "owner"}, token=manager)
    assert details(org)["defaultRole"] == "member"


def test_organization_details__OrganizationUpdateTest__test_empty_string_in_array_safe_fields(
    org: Org,
) -> None:
    update(org, {"safeFields": [""]}, status=400)
    assert not options(org).get("sentry:safe_fields")


def test_organization_details__OrganizationUpdateTest__test_empty_string_in_array_sensitive_fields(
    org: Org,
) -> None:
    update(org, {"sensitiveFields": ["foobar"]})
    update(org, {"sensitiveFields": [""]}, status=400)
    assert options(org).get("sentry:sensitive_fields") == ["foobar"]


def test_organization_details__OrganizationUpdateTest__test_empty_sensitive_fields(org: Org) -> None:
    update(org, {"sensitiveFields": ["foobar"]})
    update(org, {"sensitiveFields": []})
    assert not options(org).get("sentry:sensitive_fields")


def test_organization_details__OrganizationUpdateTest__test_cancel_delete(org: Org) -> None:
    """The pending deletion is made with ``DELETE`` (Sentry creates the organization so)."""
    assert org.delete(org.url).status_code == 202
    update(org, {"cancelDeletion": True})
    assert details(org)["status"]["id"] == "active"


def test_organization_details__OrganizationUpdateTest__test_relay_pii_config(org: Org) -> None:
    value = '{"applications": {"freeform": []}}'
    data = update(org, {"relayPiiConfig": value})
    assert options(org)["sentry:relay_pii_config"] == value
    assert data["relayPiiConfig"] == value


def test_organization_details__OrganizationUpdateTest__test_store_crash_reports_exceeded(org: Org) -> None:
    response = org.put(org.url, {"storeCrashReports": 101})
    assert response.status_code == 400
    assert options(org).get("sentry:store_crash_reports") is None
    assert "storeCrashReports" in response.get_data(as_text=True)


def test_organization_details__OrganizationUpdateTest__test_update_name_with_mapping_and_slug_reservation(
    org: Org,
) -> None:
    data = update(org, {"name": "SaNtRy"})
    assert data["id"] == str(org.id)
    assert details(org)["name"] == "SaNtRy"


def test_organization_details__OrganizationUpdateTest__test_update_slug(org: Org) -> None:
    update(org, {"slug": "new-santry"})
    response = org.get("/api/0/organizations/new-santry/")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["slug"] == "new-santry"


def test_organization_details__OrganizationUpdateTest__test_org_mapping_already_taken(
    client: FlaskClient, services: Services, org: Org
) -> None:
    make_bare_org(client, services, slug="taken")
    response = org.put(org.url, {"slug": "taken"})
    assert response.status_code == 400
    assert response.get_json()["slug"] == ['The slug "taken" is already in use.']


def test_organization_details__OrganizationUpdateTest__test_target_sample_rate_feature(
    settings: Settings,
) -> None:
    with running(settings, DS) as (client, svc):
        org = make_bare_org(client, svc)
        update(org, {"targetSampleRate": 0.1})
    with running(settings) as (client, svc):
        update(rebind(org, client, svc), {"targetSampleRate": 0.1}, status=400)


def test_organization_details__OrganizationUpdateTest__test_ingest_through_trusted_relays_only_option(
    settings: Settings,
) -> None:
    with running(settings, TRUSTED_ONLY) as (client, svc):
        org = make_bare_org(client, svc)
        # by default option is not set
        assert options(org).get("sentry:ingest-through-trusted-relays-only") is None
        update(org, {"ingestThroughTrustedRelaysOnly": "enabled"})
        assert options(org)["sentry:ingest-through-trusted-relays-only"] == "enabled"
        update(org, {"ingestThroughTrustedRelaysOnly": "invalid"}, status=400)
    with running(settings) as (client, svc):
        update(rebind(org, client, svc), {"ingestThroughTrustedRelaysOnly": "enabled"}, status=400)


def test_organization_details__OrganizationUpdateTest__test_get_ingest_through_trusted_relays_only_option(
    settings: Settings,
) -> None:
    with running(settings, TRUSTED_ONLY) as (client, svc):
        assert details(make_bare_org(client, svc))["ingestThroughTrustedRelaysOnly"] == "disabled"


def test_organization_details__OrganizationUpdateTest__test_get_ingest_through_trusted_relays_only_option_without_feature(  # noqa: E501 (Sentry's test name)
    org: Org,
) -> None:
    assert "ingestThroughTrustedRelaysOnly" not in details(org)


def test_organization_details__OrganizationUpdateTest__test_target_sample_rate_range(
    settings: Settings,
) -> None:
    with running(settings, DS) as (client, svc):
        org = make_bare_org(client, svc)
        for rate in (0.0, 0.1, 1.0):  # low, within and high
            update(org, {"targetSampleRate": rate})
        for rate in (-0.1, 1.1):  # below and above range
            update(org, {"targetSampleRate": rate}, status=400)


def test_organization_details__OrganizationUpdateTest__test_sampling_mode_feature(settings: Settings) -> None:
    with running(settings, DS) as (client, svc):
        org = make_bare_org(client, svc)
        update(org, {"samplingMode": "project"})
    with running(settings) as (client, svc):
        update(rebind(org, client, svc), {"samplingMode": "project"}, status=400)


def test_organization_details__OrganizationUpdateTest__test_sampling_mode_values(settings: Settings) -> None:
    with running(settings, DS) as (client, svc):
        org = make_bare_org(client, svc)
        update(org, {"samplingMode": "project"})
        update(org, {"samplingMode": "organization"})
        update(org, {"samplingMode": "invalid"}, status=400)


def test_organization_details__OrganizationUpdateTest__test_default_autofix_automation_tuning(
    org: Org,
) -> None:
    update(org, {"defaultAutofixAutomationTuning": "high"})
    assert options(org)["sentry:default_autofix_automation_tuning"] == "high"


def test_organization_details__OrganizationUpdateTest__test_default_seer_scanner_automation(org: Org) -> None:
    update(org, {"defaultSeerScannerAutomation": True})
    assert options(org)["sentry:default_seer_scanner_automation"] is True


def test_organization_details__OrganizationUpdateTest__test_enabled_console_platforms_present_in_response(
    org: Org,
) -> None:
    data = details(org)
    assert "enabledConsolePlatforms" in data
    assert data["enabledConsolePlatforms"] == []


def test_organization_details__OrganizationUpdateTest__test_enabled_console_platforms_no_staff_member(
    org: Org,
) -> None:
    data = update(org, {"enabledConsolePlatforms": ["playstation", "xbox"]}, status=400)
    assert data["enabledConsolePlatforms"] == ["Only staff members can toggle console platforms."]


@pytest.mark.parametrize(
    ("field", "option", "default"),
    [
        ("enablePrReviewTestGeneration", "sentry:enable_pr_review_test_generation", False),
        ("enableSeerEnhancedAlerts", "sentry:enable_seer_enhanced_alerts", True),
        ("enableSeerCoding", "sentry:enable_seer_coding", True),
    ],
)
def test_organization_details__OrganizationUpdateTest__test_flag_default_and_changes(
    org: Org, field: str, option: str, default: bool
) -> None:
    """Sentry: ``test_enable_pr_review_test_generation_{default_false,can_be_disabled,
    can_be_enabled}``, ``test_enable_seer_enhanced_alerts_*`` and ``test_enable_seer_coding_*``
    (default, can be disabled, can be enabled after being disabled)."""
    assert details(org)[field] is default
    update(org, {field: False})
    assert options(org)[option] is False
    update(org, {field: True})
    assert options(org)[option] is True


def test_organization_details__OrganizationUpdateTest__test_enable_seer_coding_cannot_be_changed_when_flag_enabled(  # noqa: E501 (Sentry's test name)
    settings: Settings,
) -> None:
    """Sentry: ``test_enable_seer_coding_cannot_be_disabled_when_flag_enabled`` and
    ``..._cannot_be_enabled_when_flag_enabled`` (the disabled start is set without the flag)."""
    with running(settings, "organizations:seer-disable-coding-setting") as (client, svc):
        org = make_bare_org(client, svc)
        update(org, {"enableSeerCoding": False})
        assert options(org).get("sentry:enable_seer_coding") is not False
    with running(settings) as (client, svc):
        update(rebind(org, client, svc), {"enableSeerCoding": False})
    with running(settings, "organizations:seer-disable-coding-setting") as (client, svc):
        again = rebind(org, client, svc)
        update(again, {"enableSeerCoding": True})
        assert options(again)["sentry:enable_seer_coding"] is False


def test_organization_details__OrganizationUpdateTest__test_default_coding_agent(org: Org) -> None:
    """Sentry: ``test_default_coding_agent_default_none``, ``..._can_be_set``, ``..._can_be_cleared``."""
    assert details(org)["defaultCodingAgent"] is None
    data = update(org, {"defaultCodingAgent": "seer"})
    assert options(org)["sentry:seer_default_coding_agent"] == "seer"
    assert data["defaultCodingAgent"] == "seer"
    data = update(org, {"defaultCodingAgent": None})
    assert options(org).get("sentry:seer_default_coding_agent") is None
    assert data["defaultCodingAgent"] is None


def test_organization_details__OrganizationUpdateTest__test_default_coding_agent_integration_id_default_none(
    org: Org,
) -> None:
    assert details(org)["defaultCodingAgentIntegrationId"] is None


def test_organization_details__OrganizationUpdateTest__test_default_coding_agent_integration_id_can_be_set(
    org: Org,
) -> None:
    data = update(org, {"defaultCodingAgentIntegrationId": 123})
    assert options(org)["sentry:seer_default_coding_agent_integration_id"] == 123
    assert data["defaultCodingAgentIntegrationId"] == 123


def test_organization_details__OrganizationUpdateTest__test_default_coding_agent_integration_id_can_be_cleared(  # noqa: E501 (Sentry's test name)
    org: Org,
) -> None:
    data = update(org, {"defaultCodingAgentIntegrationId": None})
    assert options(org).get("sentry:seer_default_coding_agent_integration_id") is None
    assert data["defaultCodingAgentIntegrationId"] is None


def test_organization_details__OrganizationUpdateTest__test_granular_replay_permissions_flag_set(
    org: Org,
) -> None:
    update(org, {"hasGranularReplayPermissions": True})
    assert options(org)["sentry:granular-replay-permissions"] is True
    (log,) = org_edits(org)
    assert "to True" in log["data"]["hasGranularReplayPermissions"]


def test_organization_details__OrganizationUpdateTest__test_granular_replay_permissions_change_logs_old_value(
    org: Org,
) -> None:
    """Sentry: also ``test_granular_replay_permissions_flag_unset`` and
    ``..._no_spurious_audit_log`` (the start value is set with a PUT)."""
    update(org, {"hasGranularReplayPermissions": False})
    before = len(org_edits(org))
    update(org, {"hasGranularReplayPermissions": False})
    assert len(org_edits(org)) == before  # no spurious audit log
    update(org, {"hasGranularReplayPermissions": True})
    assert options(org)["sentry:granular-replay-permissions"] is True
    assert org_edits(org)[0]["data"]["hasGranularReplayPermissions"] == "from False to True"


def test_organization_details__OrganizationUpdateTest__test_granular_replay_permissions_flag_requires_admin_scope(  # noqa: E501 (Sentry's test name)
    org: Org,
) -> None:
    response = org.put(org.url, {"hasGranularReplayPermissions": True}, token=org.token(*MEMBER))
    assert response.status_code == 403


def test_organization_details__OrganizationUpdateTest__test_granular_replay_permissions_retrieve_without_option(  # noqa: E501 (Sentry's test name)
    org: Org,
) -> None:
    data = details(org)
    assert data["hasGranularReplayPermissions"] is False
    assert data["replayAccessMembers"] == []


# OrganizationDeleteTest


def test_organization_details__OrganizationDeleteTest__test_can_remove_as_owner(org: Org) -> None:
    """The deletion mail to the owners is left out (tokens have no mailbox)."""
    response = org.delete(org.url)
    assert response.status_code == 202, response.get_data(as_text=True)
    assert details(org)["status"]["id"] == "pending_deletion"
    rows = org.get(org.audit_url, event="org.remove").get_json()["rows"]
    assert len(rows) == 1


def test_organization_details__OrganizationDeleteTest__test_cannot_remove_as_admin(org: Org) -> None:
    assert org.delete(org.url, token=org.token(*ADMIN)).status_code == 403


def test_organization_details__OrganizationDeleteTest__test_redo_deletion(org: Org) -> None:
    assert org.delete(org.url).status_code == 202
    assert org.delete(org.url).status_code == 202
    assert details(org)["status"]["id"] == "pending_deletion"


def test_organization_details__OrganizationDeleteTest__test_organization_does_not_exist(org: Org) -> None:
    assert org.delete("/api/0/organizations/nonexistent-slug/").status_code == 404
