"""Port of Sentry's tests/sentry/core/endpoints/test_project_details.py (the newest location;
it was tests/sentry/api/endpoints/test_project_details.py before).

Sentry version: getsentry/sentry at 00dbe48f9ea118a860ae3e917d1850470b5ad2b4.
Sentry's tests log in as the organization's owner: here the owner's token (every scope).
``project.get_option(k)`` is read back through ``GET .../options/`` (the stored options),
``AuditLogEntry`` rows through the audit log. Tokens of other users are tokens of the same
organization with the scopes Sentry's test gives them (eventry has no users or roles yet).
Left out, with the reason:
- superuser and staff variants (``test_superuser_simple``, ``test_staff_simple``, ...): no
  superuser or staff sessions; team-role and member-role variants: no members or teams roles
  (the token's scopes decide, which the token tests below cover).
- ``test_with_stats``, ``test_has_alert_integration``, ``test_no_alert_integration``: no events,
  groups or integrations.
- ``test_highlight_preset``, ``test_highlight_context`` and the preset parts of
  ``test_highlight_tags``: the presets come from Sentry's platform tables, not modelled.
- dynamic sampling (``test_is_dynamically_sampled*``, ``TestProjectDetailsDynamicSamplingBiases``,
  ``test_target_sample_rate*``), ``TestTempestProjectDetails``, ``TestSeerProjectDetails``,
  the ``preprod*`` options, symbol sources (``organizations:custom-symbol-sources``) and
  ``CopyProjectSettingsTest`` (teams, environments, ownership and alert rules): not modelled.
- ``ProjectDeleteTest`` sudo, Seer and internal-project variants: no sudo, Seer or
  ``SENTRY_PROJECT``.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from flask.testing import FlaskClient

from infra.bootstrap import Services
from tests.conftest import Tenant
from tests.sentry.projects_support import (
    as_tenant,
    audit_rows,
    create_project,
    get_project,
    other_tenant,
    owner_fixture,  # noqa: F401 (the ``owner`` fixture)
    project_options,
    project_url,
    put_project,
    settle,
    token_for,
    with_features,
)

DEFAULT_SLUG_ERROR_MESSAGE = (
    "Enter a valid slug consisting of lowercase letters, numbers, underscores or hyphens. "
    "It cannot be entirely numeric."
)
DENIED = "You do not have permission to perform this action."
FILTER_FEATURES = (
    "projects:custom-inbound-filters",
    "organizations:ourlogs-ingestion",
    "organizations:tracemetrics-ingestion",
)


def ok(client: FlaskClient, t: Tenant, **body: Any) -> dict[str, Any]:
    """Sentry's ``get_success_response(org, proj, **body)`` for a PUT."""
    response = put_project(client, t, body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def error(client: FlaskClient, t: Tenant, status_code: int = 400, **body: Any) -> Any:
    """Sentry's ``get_error_response(org, proj, status_code=..., **body)`` for a PUT."""
    response = put_project(client, t, body)
    assert response.status_code == status_code, response.get_json()
    return response


def option(client: FlaskClient, t: Tenant, key: str) -> Any:
    return project_options(client, t).get(key)


# --- ProjectDetailsTest -------------------------------------------------------------------


def test_project_details__ProjectDetailsTest__test_simple(client: FlaskClient, owner: Tenant) -> None:
    """Sentry: ProjectDetailsTest.test_simple"""
    response = get_project(client, owner)
    assert response.status_code == 200
    assert response.get_json()["id"] == str(owner.project_id)


def test_project_details__ProjectDetailsTest__test_numeric_org_slug(
    client: FlaskClient, owner: Tenant
) -> None:
    """Sentry: ProjectDetailsTest.test_numeric_org_slug"""
    project = create_project(client, owner, name="Bar", slug="bar")
    response = client.get(f"/api/0/projects/{owner.org_slug}/{project['slug']}/", headers=owner.headers())
    assert response.status_code == 200
    assert response.get_json()["id"] == str(project["id"])


def test_project_details__ProjectDetailsTest__test_collapse_organization(
    client: FlaskClient, owner: Tenant
) -> None:
    """Sentry: ProjectDetailsTest.test_collapse_organization"""
    response = get_project(client, owner, query="?collapse=organization")
    assert response.status_code == 200
    assert response.get_json()["organization"] == {"id": str(owner.org_id), "slug": owner.org_slug}


def test_project_details__ProjectDetailsTest__test_project_renamed_302(
    client: FlaskClient, owner: Tenant
) -> None:
    """Sentry: ProjectDetailsTest.test_project_renamed_302"""
    ok(client, owner, slug="foobar")

    response = client.get(project_url(owner), headers=owner.headers())
    assert response.status_code == 302
    edit = audit_rows(client, owner, "project.edit")
    assert [row["data"].get("old_slug") for row in edit if "old_slug" in row["data"]] == [owner.project_slug]
    assert [row["data"].get("new_slug") for row in edit if "new_slug" in row["data"]] == ["foobar"]
    assert response.get_json()["slug"] == "foobar"
    assert response.get_json()["detail"]["extra"]["url"] == f"/api/0/projects/{owner.org_slug}/foobar/"
    assert response.headers["Location"] == f"/api/0/projects/{owner.org_slug}/foobar/"


def test_project_details__ProjectDetailsTest__test_non_org_rename_403(
    client: FlaskClient, services: Services, owner: Tenant
) -> None:
    """Sentry: ProjectDetailsTest.test_non_org_rename_403 (a member of another organization asks
    for the old slug of a renamed project of ``other_org``)"""
    other_org = other_tenant(services)
    ok(client, other_org, slug=f"renamed-{secrets.token_hex(3)}")
    settle(services)  # Sentry's rename is committed before the request; this is not the owner's write
    response = client.get(project_url(other_org), headers=owner.headers())
    assert response.status_code == 403


def test_project_details__ProjectDetailsTest__test_filter_options(
    client: FlaskClient, services: Services, owner: Tenant
) -> None:
    """Sentry: ProjectDetailsTest.test_filter_options (Sentry sets the options as lists with
    ``update_option``; through the API they are set as the newline-joined strings, with the
    features Sentry's API needs for them)"""
    with_features(services, *FILTER_FEATURES)
    ok(
        client,
        owner,
        options={
            "filters:releases": "1.*\n2.1.*",
            "filters:error_messages": "TypeError*\n*: integer division by modulo or zero",
            "filters:log_messages": "Updated*\n*.sentry.io",
            "filters:trace_metric_names": "counter.*\n*.duration",
        },
    )
    resp = get_project(client, owner)
    assert resp.status_code == 200
    options = resp.get_json()["options"]
    assert options["filters:releases"] == "1.*\n2.1.*"
    assert options["filters:error_messages"] == "TypeError*\n*: integer division by modulo or zero"
    assert options["filters:log_messages"] == "Updated*\n*.sentry.io"
    assert options["filters:trace_metric_names"] == "counter.*\n*.duration"


# --- ProjectUpdateTestTokenAuthenticated ----------------------------------------------------


def test_project_details__ProjectUpdateTestTokenAuthenticated__test_member_can_update_limited_project_details(
    client: FlaskClient, services: Services, owner: Tenant
) -> None:
    """Sentry: ProjectUpdateTestTokenAuthenticated.test_member_can_update_limited_project_details"""
    token = token_for(services, owner, "project:read")
    response = put_project(client, owner, {"isBookmarked": True}, token)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["isBookmarked"] is True


@pytest.mark.parametrize("role", ["admin", "manager", "owner"])
def test_project_details__ProjectUpdateTestTokenAuthenticated__test_role_update_allowed_with_token_scope(
    client: FlaskClient, services: Services, owner: Tenant, role: str
) -> None:
    """Sentry: ProjectUpdateTestTokenAuthenticated.test_admin_update_allowed_with_correct_token_scope,
    test_manager_update_allowed_with_correct_token_scope and
    test_owner_update_allowed_with_correct_token_scope (the role does not change what the
    token's scope allows)"""
    for scope, platform in zip(["project:write", "project:admin"], ["rust", "java"], strict=True):
        token = token_for(services, owner, scope)
        response = put_project(client, owner, {"platform": platform}, token)
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["platform"] == platform


@pytest.mark.parametrize("case", ["member", "admin"])
def test_project_details__ProjectUpdateTestTokenAuthenticated__test_update_denied_with_token(
    client: FlaskClient, services: Services, owner: Tenant, case: str
) -> None:
    """Sentry: ProjectUpdateTestTokenAuthenticated.test_member_update_denied_with_token and
    test_admin_update_denied_with_token"""
    token = token_for(services, owner, "project:read")
    response = put_project(client, owner, {"platform": "rust"}, token)
    assert response.status_code == 403
    assert response.get_json()["detail"] == DENIED


def test_project_details__ProjectUpdateTestTokenAuthenticated__test_empty_token_scopes_denied(
    client: FlaskClient, services: Services, owner: Tenant
) -> None:
    """Sentry: ProjectUpdateTestTokenAuthenticated.test_empty_token_scopes_denied (eventry will
    not make a token without scopes: ``org:read`` holds no project scope either)"""
    token = token_for(services, owner, "org:read")
    response = put_project(client, owner, {"platform": "rust"}, token)
    assert response.status_code == 403
    assert response.get_json()["detail"] == DENIED


# --- ProjectUpdateTest ------------------------------------------------------------------------


def test_project_details__ProjectUpdateTest__test_blank_subject_prefix(
    client: FlaskClient, owner: Tenant
) -> None:
    """Sentry: ProjectUpdateTest.test_blank_subject_prefix"""
    ok(client, owner, options={"mail:subject_prefix": "[Sentry]"})
    assert option(client, owner, "mail:subject_prefix") == "[Sentry]"
    ok(client, owner, options={"mail:subject_prefix": ""})
    assert option(client, owner, "mail:subject_prefix") == ""


def test_project_details__ProjectUpdateTest__test_simple_member_restriction(
    client: FlaskClient, services: Services, owner: Tenant
) -> None:
    """Sentry: ProjectUpdateTest.test_simple_member_restriction (a member: ``project:read``)"""
    token = token_for(services, owner, "project:read")
    response = put_project(client, owner, {"slug": "zzz", "isBookmarked": "true"}, token)
    assert response.status_code == 403
    assert get_project(client, owner).get_json()["isBookmarked"] is False


def test_project_details__ProjectUpdateTest__test_member_changes_permission_denied(
    client: FlaskClient, services: Services, owner: Tenant
) -> None:
    """Sentry: ProjectUpdateTest.test_member_changes_permission_denied"""
    token = token_for(services, owner, "project:read")
    response = put_project(client, owner, {"slug": "zzz", "isBookmarked": "true"}, token)
    assert response.status_code == 403
    project = get_project(client, owner).get_json()
    assert project["slug"] != "zzz"
    assert project["isBookmarked"] is False


def test_project_details__ProjectUpdateTest__test_name(client: FlaskClient, owner: Tenant) -> None:
    """Sentry: ProjectUpdateTest.test_name"""
    ok(client, owner, name="hello world")
    assert get_project(client, owner).get_json()["name"] == "hello world"


def test_project_details__ProjectUpdateTest__test_slug(client: FlaskClient, owner: Tenant) -> None:
    """Sentry: ProjectUpdateTest.test_slug (``ProjectRedirect``: the old slug redirects)"""
    ok(client, owner, slug="foobar")
    renamed = as_tenant(owner, {"id": owner.project_id, "slug": "foobar"})
    assert get_project(client, renamed).get_json()["slug"] == "foobar"
    assert client.get(project_url(owner), headers=owner.headers()).status_code == 302
    assert audit_rows(client, owner, "project.edit")


def test_project_details__ProjectUpdateTest__test_invalid_slug(client: FlaskClient, owner: Tenant) -> None:
    """Sentry: ProjectUpdateTest.test_invalid_slug"""
    new_project = create_project(client, owner)
    error(client, owner, slug=new_project["slug"])
    assert get_project(client, owner).get_json()["slug"] != new_project["slug"]


def test_project_details__ProjectUpdateTest__test_invalid_numeric_slug(
    client: FlaskClient, owner: Tenant
) -> None:
    """Sentry: ProjectUpdateTest.test_invalid_numeric_slug"""
    response = error(client, owner, slug="1234")
    assert response.get_json()["slug"][0] == DEFAULT_SLUG_ERROR_MESSAGE


def test_project_details__ProjectUpdateTest__test_reserved_slug(client: FlaskClient, owner: Tenant) -> None:
    """Sentry: ProjectUpdateTest.test_reserved_slug (``list(RESERVED_PROJECT_SLUGS)[0]`` is
    whichever the set yields; ``settings`` is one of them)"""
    error(client, owner, slug="settings")


def test_project_details__ProjectUpdateTest__test_platform(client: FlaskClient, owner: Tenant) -> None:
    """Sentry: ProjectUpdateTest.test_platform"""
    ok(client, owner, platform="python")
    assert get_project(client, owner).get_json()["platform"] == "python"


def test_project_details__ProjectUpdateTest__test_platform_invalid(
    client: FlaskClient, owner: Tenant
) -> None:
    """Sentry: ProjectUpdateTest.test_platform_invalid"""
    error(client, owner, platform="lol")


OPTIONS: dict[str, Any] = {
    "sentry:resolve_age": 1,
    "sentry:scrub_data": False,
    "sentry:scrub_defaults": False,
    "sentry:sensitive_fields": ["foo", "bar"],
    "sentry:safe_fields": ["token"],
    "sentry:store_crash_reports": 0,
    "sentry:relay_pii_config": '{"applications": {"freeform": []}}',
    "sentry:csp_ignored_sources_defaults": False,
    "sentry:csp_ignored_sources": "foo\nbar",
    "sentry:grouping_config": "some-config",
    "filters:blacklisted_ips": "127.0.0.1\n198.51.100.0",
    "filters:releases": "1.*\n2.1.*",
    "filters:error_messages": "TypeError*\n*: integer division by modulo or zero",
    "filters:log_messages": "Updated*\n*.sentry.io",
    "filters:trace_metric_names": "counter.*\n*.duration",
    "mail:subject_prefix": "[Sentry]",
    "sentry:scrub_ip_address": False,
    "sentry:origins": "*",
    "sentry:scrape_javascript": False,
    "sentry:token": "*",
    "sentry:token_header": "*",
    "sentry:verify_ssl": False,
    "sentry:replay_hydration_error_issues": True,
    "sentry:toolbar_allowed_origins": "*.sentry.io\nexample.net  \nnugettrends.com",
    "sentry:replay_rage_click_issues": True,
    "sentry:relay_automatic_json_expansion": True,
    "sentry:feedback_user_report_notifications": True,
    "sentry:feedback_ai_spam_detection": True,
    "feedback:branding": False,
    "filters:react-hydration-errors": True,
    "filters:chunk-load-error": True,
}


def test_project_details__ProjectUpdateTest__test_options(
    client: FlaskClient, services: Services, owner: Tenant
) -> None:
    """Sentry: ProjectUpdateTest.test_options (with the features it turns on:
    ``projects:custom-inbound-filters``, ``organizations:ourlogs-ingestion``,
    ``organizations:tracemetrics-ingestion``)"""
    with_features(services, *FILTER_FEATURES)
    ok(client, owner, options=OPTIONS)
    stored = project_options(client, owner)
    assert stored.get("sentry:origins", []) == OPTIONS["sentry:origins"].split("\n")
    assert stored.get("sentry:resolve_age", 0) == OPTIONS["sentry:resolve_age"]
    assert stored.get("sentry:scrub_data", True) == OPTIONS["sentry:scrub_data"]
    assert audit_rows(client, owner, "project.edit")
    assert stored.get("sentry:scrub_defaults", True) == OPTIONS["sentry:scrub_defaults"]
    assert stored.get("sentry:sensitive_fields", []) == OPTIONS["sentry:sensitive_fields"]
    assert stored.get("sentry:safe_fields", []) == OPTIONS["sentry:safe_fields"]
    assert stored.get("sentry:store_crash_reports") == OPTIONS["sentry:store_crash_reports"]
    assert stored.get("sentry:relay_pii_config", "") == OPTIONS["sentry:relay_pii_config"]
    assert stored.get("sentry:grouping_config", "") == OPTIONS["sentry:grouping_config"]
    assert (
        stored.get("sentry:csp_ignored_sources_defaults", True)
        == OPTIONS["sentry:csp_ignored_sources_defaults"]
    )
    assert stored.get("sentry:csp_ignored_sources", []) == OPTIONS["sentry:csp_ignored_sources"].split("\n")
    assert stored.get("sentry:blacklisted_ips") == ["127.0.0.1", "198.51.100.0"]
    assert stored.get("sentry:releases") == ["1.*", "2.1.*"]
    assert stored.get("sentry:error_messages") == ["TypeError*", "*: integer division by modulo or zero"]
    assert stored.get("sentry:log_messages") == ["Updated*", "*.sentry.io"]
    assert stored.get("sentry:trace_metric_names") == ["counter.*", "*.duration"]
    assert stored.get("mail:subject_prefix", "[Sentry]")
    assert stored.get("sentry:resolve_age", 1)
    assert stored.get("sentry:scrub_ip_address", True) == OPTIONS["sentry:scrub_ip_address"]
    assert stored.get("sentry:origins", "*")
    assert stored.get("sentry:scrape_javascript", False) == OPTIONS["sentry:scrape_javascript"]
    assert stored.get("sentry:token", "*")
    assert stored.get("sentry:token_header", "*")
    assert stored.get("sentry:verify_ssl", False) == OPTIONS["sentry:verify_ssl"]
    assert stored.get("feedback:branding") == "0"
    assert stored.get("sentry:replay_hydration_error_issues") is True
    assert stored.get("sentry:toolbar_allowed_origins") == ["*.sentry.io", "example.net", "nugettrends.com"]
    assert stored.get("sentry:replay_rage_click_issues") is True
    assert stored.get("sentry:relay_automatic_json_expansion") is True
    assert stored.get("sentry:feedback_user_report_notifications") is True
    assert stored.get("sentry:feedback_ai_spam_detection") is True
    assert stored.get("filters:react-hydration-errors", "1")
    assert stored.get("filters:chunk-load-error", "1")


def test_project_details__ProjectUpdateTest__test_bookmarks(client: FlaskClient, owner: Tenant) -> None:
    """Sentry: ProjectUpdateTest.test_bookmarks"""
    ok(client, owner, isBookmarked="false")
    assert get_project(client, owner).get_json()["isBookmarked"] is False


def test_project_details__ProjectUpdateTest__test_security_token(client: FlaskClient, owner: Tenant) -> None:
    """Sentry: ProjectUpdateTest.test_security_token"""
    resp = ok(client, owner, securityToken="fizzbuzz")
    assert option(client, owner, "sentry:token") == "fizzbuzz"
    assert resp["securityToken"] == "fizzbuzz"

    # can delete
    resp = ok(client, owner, securityToken="")
    assert option(client, owner, "sentry:token") == ""
    assert resp["securityToken"] == ""


def test_project_details__ProjectUpdateTest__test_security_token_header(
    client: FlaskClient, owner: Tenant
) -> None:
    """Sentry: ProjectUpdateTest.test_security_token_header"""
    resp = ok(client, owner, securityTokenHeader="X-Hello-World")
    assert option(client, owner, "sentry:token_header") == "X-Hello-World"
    assert resp["securityTokenHeader"] == "X-Hello-World"

    # can delete
    resp = ok(client, owner, securityTokenHeader="")
    assert option(client, owner, "sentry:token_header") == ""
    assert resp["securityTokenHeader"] == ""


def test_project_details__ProjectUpdateTest__test_security_token_header_max_length(
    client: FlaskClient, owner: Tenant
) -> None:
    """Sentry: ProjectUpdateTest.test_security_token_header_max_length"""
    value = "X-" + "A" * 62
    assert len(value) == 64
    resp = ok(client, owner, securityTokenHeader=value)
    assert option(client, owner, "sentry:token_header") == value
    assert resp["securityTokenHeader"] == value

    response = error(client, owner, securityTokenHeader="X-" + "A" * 63)
    assert b"securityTokenHeader" in response.data


def test_project_details__ProjectUpdateTest__test_verify_ssl(client: FlaskClient, owner: Tenant) -> None:
    """Sentry: ProjectUpdateTest.test_verify_ssl"""
    resp = ok(client, owner, verifySSL=False)
    assert option(client, owner, "sentry:verify_ssl") is False
    assert resp["verifySSL"] is False


def test_project_details__ProjectUpdateTest__test_scrub_ip_address(
    client: FlaskClient, owner: Tenant
) -> None:
    """Sentry: ProjectUpdateTest.test_scrub_ip_address"""
    resp = ok(client, owner, scrubIPAddresses=True)
    assert option(client, owner, "sentry:scrub_ip_address") is True
    assert resp["scrubIPAddresses"] is True

    resp = ok(client, owner, scrubIPAddresses=False)
    assert option(client, owner, "sentry:scrub_ip_address") is False
    assert resp["scrubIPAddresses"] is False


def test_project_details__ProjectUpdateTest__test_scrape_javascript(
    client: FlaskClient, owner: Tenant
) -> None:
    """Sentry: ProjectUpdateTest.test_scrape_javascript"""
    resp = ok(client, owner, scrapeJavaScript=False)
    assert option(client, owner, "sentry:scrape_javascript") is False
    assert resp["scrapeJavaScript"] is False


def test_project_details__ProjectUpdateTest__test_enable_auto_release_creation(
    client: FlaskClient, owner: Tenant
) -> None:
    """Sentry: ProjectUpdateTest.test_enable_auto_release_creation"""
    resp = ok(client, owner, enableAutoReleaseCreation=False)
    assert option(client, owner, "sentry:enable_auto_release_creation") is False
    assert resp["enableAutoReleaseCreation"] is False

    resp = ok(client, owner, enableAutoReleaseCreation=True)
    assert option(client, owner, "sentry:enable_auto_release_creation") is True
    assert resp["enableAutoReleaseCreation"] is True


def test_project_details__ProjectUpdateTest__test_default_environment(
    client: FlaskClient, owner: Tenant
) -> None:
    """Sentry: ProjectUpdateTest.test_default_environment"""
    resp = ok(client, owner, defaultEnvironment="dev")
    assert option(client, owner, "sentry:default_environment") == "dev"
    assert resp["defaultEnvironment"] == "dev"

    resp = ok(client, owner, defaultEnvironment="")
    assert option(client, owner, "sentry:default_environment") == ""
    assert resp["defaultEnvironment"] == ""


def test_project_details__ProjectUpdateTest__test_resolve_age(client: FlaskClient, owner: Tenant) -> None:
    """Sentry: ProjectUpdateTest.test_resolve_age"""
    resp = ok(client, owner, resolveAge=5)
    assert option(client, owner, "sentry:resolve_age") == 5
    assert resp["resolveAge"] == 5

    # can set to 0 or delete
    resp = ok(client, owner, resolveAge="")
    assert option(client, owner, "sentry:resolve_age") == 0
    assert resp["resolveAge"] == 0


def test_project_details__ProjectUpdateTest__test_allowed_domains(client: FlaskClient, owner: Tenant) -> None:
    """Sentry: ProjectUpdateTest.test_allowed_domains"""
    value = ["foobar.com", "https://example.com"]
    resp = ok(client, owner, allowedDomains=value)
    assert option(client, owner, "sentry:origins") == ["foobar.com", "https://example.com"]
    assert resp["allowedDomains"] == ["foobar.com", "https://example.com"]

    # cannot be empty
    response = error(client, owner, allowedDomains="")
    assert option(client, owner, "sentry:origins") == ["foobar.com", "https://example.com"]
    assert response.get_json()["allowedDomains"] == [
        "Empty value will block all requests, use * to accept from all domains"
    ]

    resp = ok(client, owner, allowedDomains=["*", ""])
    assert option(client, owner, "sentry:origins") == ["*"]
    assert resp["allowedDomains"] == ["*"]


def test_project_details__ProjectUpdateTest__test_safe_fields(client: FlaskClient, owner: Tenant) -> None:
    """Sentry: ProjectUpdateTest.test_safe_fields"""
    value = ["foobar", "extra.fields.**"]
    resp = ok(client, owner, safeFields=value)
    assert option(client, owner, "sentry:safe_fields") == ["foobar", "extra.fields.**"]
    assert resp["safeFields"] == ["foobar", "extra.fields.**"]

    response = error(client, owner, safeFields=["er ror", "double.**.wildcard.**"])
    assert response.get_json()["safeFields"] == [
        'Invalid syntax near "er ror" (line 1),\nDeep wildcard used more than once (line 2)',
    ]


def test_project_details__ProjectUpdateTest__test_highlight_tags(client: FlaskClient, owner: Tenant) -> None:
    """Sentry: ProjectUpdateTest.test_highlight_tags (without the platform presets)"""
    ok(client, owner)
    assert option(client, owner, "sentry:highlight_tags") is None

    highlight_tags = ["bears", "beets", "battlestar_galactica", "blue bugs"]
    resp = ok(client, owner, highlightTags=highlight_tags)
    assert option(client, owner, "sentry:highlight_tags") == highlight_tags
    assert resp["highlightTags"] == highlight_tags

    resp = ok(client, owner, highlightTags=[])
    assert option(client, owner, "sentry:highlight_tags") == []
    assert resp["highlightTags"] == []


def test_project_details__ProjectUpdateTest__test_store_crash_reports(
    client: FlaskClient, owner: Tenant
) -> None:
    """Sentry: ProjectUpdateTest.test_store_crash_reports"""
    resp = ok(client, owner, storeCrashReports=10)
    assert option(client, owner, "sentry:store_crash_reports") == 10
    assert resp["storeCrashReports"] == 10


def test_project_details__ProjectUpdateTest__test_store_crash_reports_exceeded(
    client: FlaskClient, owner: Tenant
) -> None:
    """Sentry: ProjectUpdateTest.test_store_crash_reports_exceeded"""
    response = error(client, owner, storeCrashReports=101)
    assert option(client, owner, "sentry:store_crash_reports") is None
    assert b"storeCrashReports" in response.data


def test_project_details__ProjectUpdateTest__test_store_crash_reports_inherit_organization_settings(
    client: FlaskClient, owner: Tenant
) -> None:
    """Sentry: ProjectUpdateTest.test_store_crash_reports_inherit_organization_settings"""
    resp = ok(client, owner, storeCrashReports=None)
    assert option(client, owner, "sentry:store_crash_reports") is None
    assert resp["storeCrashReports"] is None


def test_project_details__ProjectUpdateTest__test_debug_files_role(
    client: FlaskClient, owner: Tenant
) -> None:
    """Sentry: ProjectUpdateTest.test_debug_files_role"""
    resp = ok(client, owner, debugFilesRole="admin")
    assert option(client, owner, "sentry:debug_files_role") == "admin"
    assert resp["debugFilesRole"] == "admin"

    resp = ok(client, owner, debugFilesRole="member")
    assert option(client, owner, "sentry:debug_files_role") == "member"
    assert resp["debugFilesRole"] == "member"

    resp = ok(client, owner, debugFilesRole=None)
    assert option(client, owner, "sentry:debug_files_role") is None
    assert resp["debugFilesRole"] is None


def test_project_details__ProjectUpdateTest__test_debug_files_role_invalid(
    client: FlaskClient, owner: Tenant
) -> None:
    """Sentry: ProjectUpdateTest.test_debug_files_role_invalid"""
    error(client, owner, debugFilesRole="invalid_role")
    assert option(client, owner, "sentry:debug_files_role") is None


@pytest.mark.parametrize("key", ["filters:react-hydration-errors", "filters:chunk-load-error"])
def test_project_details__ProjectUpdateTest__test_boolean_filters(
    client: FlaskClient, owner: Tenant, key: str
) -> None:
    """Sentry: ProjectUpdateTest.test_react_hydration_errors and test_chunk_load_error"""
    resp = ok(client, owner, options={key: False})
    assert option(client, owner, key) == "0"
    assert resp["options"][key] is False

    resp = ok(client, owner, options={key: True})
    assert option(client, owner, key) == "1"
    assert resp["options"][key] is True


def test_project_details__ProjectUpdateTest__test_relay_pii_config(
    client: FlaskClient, owner: Tenant
) -> None:
    """Sentry: ProjectUpdateTest.test_relay_pii_config"""
    value = '{"applications": {"freeform": []}}'
    resp = ok(client, owner, relayPiiConfig=value)
    assert option(client, owner, "sentry:relay_pii_config") == value
    assert resp["relayPiiConfig"] == value


def test_project_details__ProjectUpdateTest__test_sensitive_fields(
    client: FlaskClient, owner: Tenant
) -> None:
    """Sentry: ProjectUpdateTest.test_sensitive_fields"""
    value = ["foobar.com", "https://example.com"]
    resp = ok(client, owner, sensitiveFields=value)
    assert option(client, owner, "sentry:sensitive_fields") == ["foobar.com", "https://example.com"]
    assert resp["sensitiveFields"] == ["foobar.com", "https://example.com"]


def test_project_details__ProjectUpdateTest__test_sensitive_fields_too_long(
    client: FlaskClient, owner: Tenant
) -> None:
    """Sentry: ProjectUpdateTest.test_sensitive_fields_too_long"""
    value = 1000 * ["0123456789"] + ["1"]
    assert put_project(client, owner, {"sensitiveFields": value}).status_code == 400


def test_project_details__ProjectUpdateTest__test_data_scrubber(client: FlaskClient, owner: Tenant) -> None:
    """Sentry: ProjectUpdateTest.test_data_scrubber"""
    resp = ok(client, owner, dataScrubber=False)
    assert option(client, owner, "sentry:scrub_data") is False
    assert resp["dataScrubber"] is False


def test_project_details__ProjectUpdateTest__test_data_scrubber_defaults(
    client: FlaskClient, owner: Tenant
) -> None:
    """Sentry: ProjectUpdateTest.test_data_scrubber_defaults"""
    resp = ok(client, owner, dataScrubberDefaults=False)
    assert option(client, owner, "sentry:scrub_defaults") is False
    assert resp["dataScrubberDefaults"] is False


def test_project_details__ProjectUpdateTest__test_digests_delay(client: FlaskClient, owner: Tenant) -> None:
    """Sentry: ProjectUpdateTest.test_digests_delay"""
    ok(client, owner, digestsMinDelay=1000)
    assert option(client, owner, "digests:mail:minimum_delay") == 1000

    ok(client, owner, digestsMaxDelay=1200)
    assert option(client, owner, "digests:mail:maximum_delay") == 1200

    ok(client, owner, digestsMinDelay=300, digestsMaxDelay=600)
    assert option(client, owner, "digests:mail:minimum_delay") == 300
    assert option(client, owner, "digests:mail:maximum_delay") == 600


def test_project_details__ProjectUpdateTest__test_digests_min_without_max(
    client: FlaskClient, owner: Tenant
) -> None:
    """Sentry: ProjectUpdateTest.test_digests_min_without_max"""
    ok(client, owner, digestsMinDelay=1200)
    assert option(client, owner, "digests:mail:minimum_delay") == 1200


def test_project_details__ProjectUpdateTest__test_digests_max_without_min(
    client: FlaskClient, owner: Tenant
) -> None:
    """Sentry: ProjectUpdateTest.test_digests_max_without_min"""
    ok(client, owner, digestsMaxDelay=1200)
    assert option(client, owner, "digests:mail:maximum_delay") == 1200


def test_project_details__ProjectUpdateTest__test_invalid_digests_min_delay(
    client: FlaskClient, owner: Tenant
) -> None:
    """Sentry: ProjectUpdateTest.test_invalid_digests_min_delay (the option is set through the
    API first, where Sentry calls ``update_option``)"""
    min_delay = 120
    ok(client, owner, options={"digests:mail:minimum_delay": min_delay})

    error(client, owner, digestsMinDelay=59)
    error(client, owner, digestsMinDelay=3601)
    assert option(client, owner, "digests:mail:minimum_delay") == min_delay


def test_project_details__ProjectUpdateTest__test_invalid_digests_max_delay(
    client: FlaskClient, owner: Tenant
) -> None:
    """Sentry: ProjectUpdateTest.test_invalid_digests_max_delay"""
    min_delay, max_delay = 120, 360
    ok(
        client,
        owner,
        options={"digests:mail:minimum_delay": min_delay, "digests:mail:maximum_delay": max_delay},
    )

    error(client, owner, digestsMaxDelay=59)
    error(client, owner, digestsMaxDelay=3601)
    assert option(client, owner, "digests:mail:maximum_delay") == max_delay

    # test sending only max
    error(client, owner, digestsMaxDelay=100)
    assert option(client, owner, "digests:mail:maximum_delay") == max_delay

    # test sending min + invalid max
    error(client, owner, digestsMinDelay=120, digestsMaxDelay=100)
    assert option(client, owner, "digests:mail:minimum_delay") == min_delay
    assert option(client, owner, "digests:mail:maximum_delay") == max_delay


def test_project_details__ProjectUpdateTest__test_no_setting_grouping_configs(
    client: FlaskClient, owner: Tenant
) -> None:
    """Sentry: ProjectUpdateTest.test_no_setting_grouping_configs"""
    response = error(client, owner, groupingConfig="some config")
    assert "Grouping config cannot be manually set" in response.text

    response = error(client, owner, secondaryGroupingConfig="another config")
    assert "Secondary grouping config cannot be manually set" in response.text

    response = error(client, owner, secondaryGroupingExpiry=12311121)
    assert "Secondary grouping expiry cannot be manually set" in response.text


# --- ProjectDeleteTest ----------------------------------------------------------------------


def test_project_details__ProjectDeleteTest__test_simple(client: FlaskClient, owner: Tenant) -> None:
    """Sentry: ProjectDeleteTest.test_simple (pending deletion under another slug: the project
    is gone from its routes, and ``DeletedProject``'s log is the ``project.remove`` entry)"""
    response = client.delete(project_url(owner), headers=owner.headers())
    assert response.status_code == 204
    assert get_project(client, owner).status_code == 404
    assert [row["targetObject"] for row in audit_rows(client, owner, "project.remove")] == [owner.project_id]
