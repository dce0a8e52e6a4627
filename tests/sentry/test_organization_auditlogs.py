"""Port of Sentry's ``tests/sentry/core/endpoints/test_organization_auditlogs.py``
(getsentry/sentry @ 3e51ed0b11c05a971f52ea871031d77025151d1d, the newest stored version; it
moved there from ``tests/sentry/api/endpoints/``, whose last stored version lacks
``test_filter_by_date`` and ``test_filter_by_stats_period``), as black-box HTTP tests.

Adaptations: ``AuditLogEntry.objects.create`` becomes the write that Sentry audits (``PUT`` of
the organization for ``org.edit``; ``org.create`` is written when the organization is made).
Because eventry's setup writes are audited too (``org.create``, ``project.create``), where Sentry
counts all rows this port counts the rows of the event it wrote. A user is a token: another
user is another token of the same organization, and ``actor`` is the id the rows show for it.
Entries cannot be back-dated, so the date filters are checked with windows around entries made
now. Not ported: ``test_superuser_read_write_can_see_audit_logs`` (no superusers in eventry).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from infra.bootstrap import Services
from tests.conftest import make_tenant
from tests.sentry.releases_support import OWNER, Org, make_org

# ``audit_log.get_api_names()``: the api names registered in Sentry's
# src/sentry/audit_log/register.py (@ 0105a47cf0be128d1b2ca8063f586dd6d4ddf29c) and the classes of
# src/sentry/audit_log/events.py it registers. That register.py also registers four repository
# events (RepoSettingsEdit, RepoAdded, RepoDisabled, RepoEnabled) defined in a newer events.py than
# the stored one, so their api names are unknown here and not required.
SENTRY_API_NAMES = {
    "member.invite", "member.add", "member.accept-invite", "member.edit", "member.remove",
    "member.join-team", "member.leave-team", "member.pending", "member.reinvite",
    "org.create", "org.edit", "org.remove", "org.restore", "org.console-platform.edit",
    "team.create", "team.edit", "team.remove", "team-and-project.created",
    "project.create", "project.edit", "project.change-performance-issue-detection",
    "project.remove", "project.remove-with-origin", "project.request-transfer",
    "project.accept-transfer", "project.enable", "project.disable", "project.ownership-rule.edit",
    "project.create-with-origin", "project-team.remove", "project-team.add",
    "project_template.create", "tagkey.remove",
    "projectkey.create", "projectkey.edit", "projectkey.remove", "projectkey.change",
    "sso.enable", "sso.disable", "sso.edit", "sso-identity.link",
    "api-key.create", "api-key.edit", "api-key.remove",
    "rule.create", "rule.edit", "rule.remove", "rule.mute", "rule.disable",
    "servicehook.create", "servicehook.edit", "servicehook.remove",
    "integration.disable", "integration.upgrade", "integration.add", "integration.edit",
    "integration.remove", "integration.rotate-client-secret",
    "sentry-app.add", "sentry-app.remove", "sentry-app.install", "sentry-app.uninstall",
    "monitor.add", "monitor.edit", "monitor.remove", "monitor.environment.remove",
    "monitor.environment.edit",
    "internal-integration.create", "internal-integration.disable",
    "internal-integration.add-token", "internal-integration.remove-token",
    "invite-request.create", "invite-request.remove", "invite.remove",
    "alertrule.create", "alertrule.edit", "alertrule.remove", "alertrule.mute",
    "sampling_priority.enabled", "sampling_priority.disabled",
    "notification_action.create", "notification_action.edit", "notification_action.remove",
    "org-auth-token.create", "org-auth-token.remove",
    "metric.block", "metric.tags.block", "metric.unblock", "metric.tags.unblock",
    "issue.delete",
    "span_extraction_rule_config.create", "span_extraction_rule_config.update",
    "span_extraction_rule_config.delete",
    "uptime_monitor.add", "uptime_monitor.edit", "uptime_monitor.remove",
    "detector.add", "detector.edit", "detector.remove",
    "workflow.add", "workflow.edit", "workflow.remove",
    "detector_workflow.add", "detector_workflow.remove",
    "playstation-client-id.create", "playstation-client-id.remove",
    "replay-deletion-jobs.start", "replay-deletion-jobs.stop", "autofix-settings.edit",
}  # fmt: skip


@pytest.fixture
def org(client: FlaskClient, services: Services) -> Org:
    return make_org(client, services)


def audit(org: Org, token: str | None = None, **query: Any) -> Any:
    response = org.get(org.audit_url, token=token, **query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def edit(org: Org, token: str | None = None) -> dict[str, Any]:
    """An ``org.edit`` entry, written by the token's actor; returns that row."""
    response = org.put(org.url, {"name": f"name {secrets.token_hex(4)}"}, token=token)
    assert response.status_code == 200, response.get_json()
    newest = audit(org, token=token, event="org.edit")["rows"][0]
    assert newest["event"] == "org.edit"
    return newest  # type: ignore[no-any-return]


def ids(rows: list[dict[str, Any]]) -> list[str]:
    return [r["id"] for r in rows]


def test_organization_auditlogs__OrganizationAuditLogsTest__test_simple(org: Org, services: Services) -> None:
    org2 = Org(org.client, services, make_tenant(services, scopes=OWNER))
    entry1 = edit(org)
    entry2 = edit(org)
    edit(org2)

    rows = audit(org)["rows"]
    assert ids([r for r in rows if r["event"] == "org.edit"]) == [entry2["id"], entry1["id"]]
    assert ids(rows[:2]) == [entry2["id"], entry1["id"]]
    assert all(r["id"] not in ids(audit(org2)["rows"]) for r in rows)


def test_organization_auditlogs__OrganizationAuditLogsTest__test_filter_by_event(org: Org) -> None:
    entry1 = edit(org)  # the org.create entry was written when the organization was made
    assert [r["event"] for r in audit(org)["rows"]].count("org.create") == 1
    rows = audit(org, event="org.edit")["rows"]
    assert ids(rows) == [entry1["id"]]


def test_organization_auditlogs__OrganizationAuditLogsTest__test_filter_by_user(org: Org) -> None:
    user2 = org.token(*OWNER)
    entry1 = edit(org)
    entry2 = edit(org, token=user2)
    assert entry1["actor"]["id"] != entry2["actor"]["id"]
    rows = audit(org, actor=entry1["actor"]["id"])["rows"]
    assert [r["id"] for r in rows if r["event"] == "org.edit"] == [entry1["id"]]
    assert entry2["id"] not in ids(rows)


def test_organization_auditlogs__OrganizationAuditLogsTest__test_filter_by_user_and_event(org: Org) -> None:
    user2 = org.token(*OWNER)
    entry1 = edit(org)
    edit(org, token=user2)
    rows = audit(org, event="org.edit", actor=entry1["actor"]["id"])["rows"]
    assert ids(rows) == [entry1["id"]]


def test_organization_auditlogs__OrganizationAuditLogsTest__test_invalid_event(org: Org) -> None:
    edit(org)
    assert audit(org, event="wrong")["rows"] == []


def test_organization_auditlogs__OrganizationAuditLogsTest__test_user_out_of_bounds(org: Org) -> None:
    edit(org)
    response = org.get(org.audit_url, actor=111111111111)
    assert response.status_code == 400
    assert response.get_json() == {"actor": ["Ensure this value is less than or equal to 2147483647."]}


def test_organization_auditlogs__OrganizationAuditLogsTest__test_options_data_included(org: Org) -> None:
    edit(org)
    data = audit(org)
    assert len(data) == 2
    assert set(data["options"]) >= SENTRY_API_NAMES


def moment(row: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(row["dateCreated"])


def iso(when: datetime) -> str:
    return when.isoformat()


def test_organization_auditlogs__OrganizationAuditLogsTest__test_filter_by_date(org: Org) -> None:
    """Sentry's entry1 is a day old and its window ends an hour ago; here the window is built
    around an entry made now, and a window that ends before it must leave it out."""
    entry1 = edit(org)
    start_time, end_time = moment(entry1) - timedelta(days=1), moment(entry1) + timedelta(hours=1)
    rows = audit(org, event="org.edit", start=iso(start_time), end=iso(end_time))["rows"]
    assert ids(rows) == [entry1["id"]]
    earlier = audit(
        org, event="org.edit", start=iso(start_time), end=iso(moment(entry1) - timedelta(hours=1))
    )
    assert earlier["rows"] == []


def test_organization_auditlogs__OrganizationAuditLogsTest__test_filter_by_stats_period(org: Org) -> None:
    """The two-day-old entry cannot be made: a period that ends before every entry leaves them
    all out, and ``1d`` keeps the recent one."""
    recent_entry = edit(org)
    rows = audit(org, statsPeriod="1d", event="org.edit")["rows"]
    assert ids(rows) == [recent_entry["id"]]
    start = iso(moment(recent_entry) - timedelta(days=3))
    end = iso(moment(recent_entry) - timedelta(days=2))
    assert audit(org, start=start, end=end)["rows"] == []
