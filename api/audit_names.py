"""The audit log's ``options``: every api name Sentry registers (``audit_log.get_api_names()``),
in registration order, from ``src/sentry/audit_log/register.py`` (getsentry/sentry @ 0105a47).
eventry writes only some of them (``projections.audit_log.AUDIT_EVENTS``); a client's event
filter may name any. Four repository events of that register.py (``RepoSettingsEdit``,
``RepoAdded``, ``RepoDisabled``, ``RepoEnabled``) are defined in an ``events.py`` not at hand,
so their api names are missing here.
"""

SENTRY_API_NAMES = (
    "member.invite", "member.add", "member.accept-invite", "member.edit", "member.remove",
    "member.join-team", "member.leave-team", "member.pending", "member.reinvite", "org.create",
    "org.edit", "org.remove", "org.restore", "org.console-platform.edit", "team.create",
    "team.edit", "team.remove", "team-and-project.created", "project.create", "project.edit",
    "project.change-performance-issue-detection", "project.remove", "project.remove-with-origin",
    "project.request-transfer", "project.accept-transfer", "project.enable", "project.disable",
    "project.ownership-rule.edit", "project.create-with-origin", "project-team.remove",
    "project-team.add", "project_template.create", "tagkey.remove", "projectkey.create",
    "projectkey.edit", "projectkey.remove", "projectkey.change", "sso.enable", "sso.disable",
    "sso.edit", "sso-identity.link", "api-key.create", "api-key.edit", "api-key.remove",
    "rule.create", "rule.edit", "rule.remove", "rule.mute", "rule.disable", "servicehook.create",
    "servicehook.edit", "servicehook.remove", "integration.disable", "integration.upgrade",
    "integration.add", "integration.edit", "integration.remove", "integration.rotate-client-secret",
    "sentry-app.add", "sentry-app.remove", "sentry-app.install", "sentry-app.uninstall",
    "monitor.add", "monitor.edit", "monitor.remove", "monitor.environment.remove",
    "monitor.environment.edit", "internal-integration.create", "internal-integration.disable",
    "internal-integration.add-token", "internal-integration.remove-token", "invite-request.create",
    "invite-request.remove", "invite.remove", "alertrule.create", "alertrule.edit",
    "alertrule.remove", "alertrule.mute", "sampling_priority.enabled", "sampling_priority.disabled",
    "notification_action.create", "notification_action.edit", "notification_action.remove",
    "org-auth-token.create", "org-auth-token.remove", "metric.block", "metric.tags.block",
    "metric.unblock", "metric.tags.unblock", "issue.delete", "span_extraction_rule_config.create",
    "span_extraction_rule_config.update", "span_extraction_rule_config.delete",
    "uptime_monitor.add", "uptime_monitor.edit", "uptime_monitor.remove", "detector.add",
    "detector.edit", "detector.remove", "workflow.add", "workflow.edit", "workflow.remove",
    "detector_workflow.add", "detector_workflow.remove", "playstation-client-id.create",
    "playstation-client-id.remove", "replay-deletion-jobs.start", "replay-deletion-jobs.stop",
    "autofix-settings.edit",
)  # fmt: skip
