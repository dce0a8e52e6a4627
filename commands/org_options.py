"""Sentry's organization settings: the ORG_OPTIONS table, the flags, and how trusted relays
are merged into their stored form (``organization_details.py``, newest)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from events import option_registry as registry
from events.option_registry import Normalizer

STORE_CRASH_REPORTS_DEFAULT = 0
STORE_CRASH_REPORTS_ALL = -1
STORE_CRASH_REPORTS_MAX = 100
SAMPLING_MODE_ORGANIZATION, SAMPLING_MODE_PROJECT = "organization", "project"
TRUSTED_RELAYS_OPTION = "sentry:trusted-relays"
SAMPLING_MODE_OPTION = "sentry:sampling_mode"
TARGET_SAMPLE_RATE_OPTION = "sentry:target_sample_rate"
ROLES = ("member", "admin", "manager", "owner")
DEFAULT_ROLE = "member"


def convert_crashreport_count(value: Any) -> int:
    """``sentry.lang.native.utils.convert_crashreport_count``."""
    if value is None or value is False:
        return STORE_CRASH_REPORTS_DEFAULT
    if value is True:
        return STORE_CRASH_REPORTS_ALL
    return int(value)


@dataclass(frozen=True)
class OrgOption:
    """One ORG_OPTIONS row: API field, option key, the type applied on first store, default."""

    field: str
    key: str
    convert: Callable[[Any], Any]
    default: Any

    @property
    def normalize(self) -> Normalizer:
        """The registry's normalizer for the row's type: what every stored value must be."""
        return _NORMALIZERS[self.convert]


_ROWS: tuple[tuple[Any, ...], ...] = (
    ("dataScrubber", "sentry:require_scrub_data", bool, False),
    ("sensitiveFields", "sentry:sensitive_fields", list, None),
    ("safeFields", "sentry:safe_fields", list, None),
    ("scrapeJavaScript", "sentry:scrape_javascript", bool, True),
    ("dataScrubberDefaults", "sentry:require_scrub_defaults", bool, False),
    ("storeCrashReports", "sentry:store_crash_reports", convert_crashreport_count, 0),
    ("attachmentsRole", "sentry:attachments_role", str, DEFAULT_ROLE),
    ("debugFilesRole", "sentry:debug_files_role", str, "admin"),
    ("eventsMemberAdmin", "sentry:events_member_admin", bool, True),
    ("alertsMemberWrite", "sentry:alerts_member_write", bool, True),
    ("scrubIPAddresses", "sentry:require_scrub_ip_address", bool, False),
    ("relayPiiConfig", "sentry:relay_pii_config", str, None),
    ("allowJoinRequests", "sentry:join_requests", bool, True),
    ("apdexThreshold", "sentry:apdex_threshold", int, None),
    ("hideAiFeatures", "sentry:hide_ai_features", bool, False),
    ("githubPRBot", "sentry:github_pr_bot", bool, True),
    ("githubNudgeInvite", "sentry:github_nudge_invite", bool, True),
    ("gitlabPRBot", "sentry:gitlab_pr_bot", bool, True),
    ("issueAlertsThreadFlag", "sentry:issue_alerts_thread_flag", bool, True),
    ("metricAlertsThreadFlag", "sentry:metric_alerts_thread_flag", bool, True),
    ("targetSampleRate", TARGET_SAMPLE_RATE_OPTION, float, 1.0),
    ("samplingMode", SAMPLING_MODE_OPTION, str, SAMPLING_MODE_ORGANIZATION),
    ("rollbackEnabled", "sentry:rollback_enabled", bool, True),
    ("defaultAutofixAutomationTuning", "sentry:default_autofix_automation_tuning", str, "off"),
    ("defaultSeerScannerAutomation", "sentry:default_seer_scanner_automation", bool, True),
    ("enableSeerEnhancedAlerts", "sentry:enable_seer_enhanced_alerts", bool, True),
    ("enableSeerCoding", "sentry:enable_seer_coding", bool, True),
    ("enablePrReviewTestGeneration", "sentry:enable_pr_review_test_generation", bool, False),
    ("defaultCodingAgent", "sentry:seer_default_coding_agent", str, None),
    ("defaultCodingAgentIntegrationId", "sentry:seer_default_coding_agent_integration_id", int, None),
    ("autoOpenPrs", "sentry:auto_open_prs", bool, False),
    ("defaultAutomatedRunStoppingPoint", "sentry:default_automated_run_stopping_point", str,
     "code_changes"),
    ("autoEnableCodeReview", "sentry:auto_enable_code_review", bool, True),
    ("defaultCodeReviewTriggers", "sentry:default_code_review_triggers", list, []),
    ("ingestThroughTrustedRelaysOnly", "sentry:ingest-through-trusted-relays-only", str, "disabled"),
    ("enabledConsolePlatforms", "sentry:enabled_console_platforms", list, []),
    ("consoleSdkInviteQuota", "sentry:console_sdk_invite_quota_limit", int, 0),
    ("dashboardsAsyncQueueParallelLimit", "sentry:dashboards-async-queue-parallel-limit", int, 2),
)  # fmt: skip
_NORMALIZERS: dict[Callable[[Any], Any], Normalizer] = {
    bool: registry.boolean,
    list: registry.strings,
    str: registry.string(),
    int: registry.integer(),
    float: registry.number(0, 1),  # the one float option is a sample rate
    convert_crashreport_count: registry.crash_reports,
}
ORG_OPTIONS: tuple[OrgOption, ...] = tuple(OrgOption(*row) for row in _ROWS)
OPTIONS_BY_FIELD = {o.field: o for o in ORG_OPTIONS}

# Organization flags (a bit field in Sentry), in the order Sentry compares them; only
# ``allow_joinleave`` is set on a new organization.
FLAG_DEFAULTS: dict[str, bool] = {
    "allow_joinleave": True,
    "enhanced_privacy": False,
    "disable_shared_issues": False,
    "early_adopter": False,
    "require_2fa": False,
    "codecov_access": False,
    "disable_member_project_creation": False,
    "prevent_superuser_access": False,
    "disable_member_invite": False,
}

# API field -> (flag, whether the field is the flag's negation)
FLAG_FIELDS: dict[str, tuple[str, bool]] = {
    "openMembership": ("allow_joinleave", False),
    "allowSharedIssues": ("disable_shared_issues", True),
    "enhancedPrivacy": ("enhanced_privacy", False),
    "isEarlyAdopter": ("early_adopter", False),
    "codecovAccess": ("codecov_access", False),
    "require2FA": ("require_2fa", False),
    "allowMemberProjectCreation": ("disable_member_project_creation", True),
    "allowSuperuserAccess": ("prevent_superuser_access", True),
    "allowMemberInvite": ("disable_member_invite", True),
}


def option_value(options: dict[str, Any], field: str) -> Any:
    """The stored value of an API field's option, or its default when never stored."""
    spec = OPTIONS_BY_FIELD[field]
    return options.get(spec.key, spec.default)


def merge_trusted_relays(
    incoming: list[dict[str, Any]], existing: list[dict[str, Any]] | None, now: str
) -> tuple[list[dict[str, Any]], bool]:
    """``save_trusted_relays``: keep ``created`` of known keys, stamp ``last_modified`` when a
    key is new or its name or description changed; a different count is a change too."""
    known = {item.get("public_key"): item for item in existing or [] if isinstance(item, dict)}
    stored: list[dict[str, Any]] = []
    modified = False
    for item in incoming:
        before = known.get(item["public_key"], {})
        entry = {
            "public_key": item["public_key"],
            "name": item["name"],
            "description": item.get("description"),
            "created": before.get("created", now),
            "last_modified": before.get("last_modified"),
        }
        if (
            not before
            or before.get("name") != entry["name"]
            or before.get("description") != entry["description"]
        ):
            entry["last_modified"] = now
            modified = True
        stored.append(entry)
    if len(incoming) != len(existing or []):
        modified = True
    return stored, modified
