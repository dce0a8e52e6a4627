"""Response bodies for projects and their keys, shaped like Sentry's serializers
(``ProjectSummarySerializer``, ``DetailedProjectSerializer``, ``ProjectKeySerializer``)."""

from __future__ import annotations

from typing import Any

from commands.project_keys import BROWSER_SDK_CHOICES, DEFAULT_BROWSER_SDK_VERSION, LOADER_OPTIONS
from events.project_keys import KEY_ACTIVE
from projections.directory import OrganizationRow
from projections.project_keys import KeyRow


def iso(value: str) -> str:
    return value.replace("+00:00", "Z")


def project_summary(
    project_id: int, slug: str, name: str, platform: str | None, date_created: str
) -> dict[str, Any]:
    return {
        "id": str(project_id),
        "slug": slug,
        "name": name,
        "platform": platform,
        "dateCreated": iso(date_created),
        "isBookmarked": False,
        "isMember": True,
        "hasAccess": True,
        "features": [],
        "firstEvent": None,
        "firstTransactionEvent": False,
        "access": [],
    }


def project_details(summary: dict[str, Any], org: OrganizationRow, options: dict[str, Any]) -> dict[str, Any]:
    """The summary plus the organization and the settings derived from options (with Sentry's
    defaults where an option was never set)."""
    return {
        **summary,
        "status": "active",
        "isPublic": False,
        "isInternal": False,
        "organization": {"id": str(org.id), "slug": org.slug, "name": org.name},
        "team": None,
        "teams": [],
        "allowedDomains": options.get("sentry:origins", ["*"]),
        "resolveAge": int(options.get("sentry:resolve_age", 0) or 0),
        "dataScrubber": bool(options.get("sentry:scrub_data", True)),
        "dataScrubberDefaults": bool(options.get("sentry:scrub_defaults", True)),
        "safeFields": options.get("sentry:safe_fields", []),
        "sensitiveFields": options.get("sentry:sensitive_fields", []),
        "scrubIPAddresses": bool(options.get("sentry:scrub_ip_address", False)),
        "scrapeJavaScript": bool(options.get("sentry:scrape_javascript", True)),
        "storeCrashReports": options.get("sentry:store_crash_reports"),
        "relayPiiConfig": options.get("sentry:relay_pii_config"),
        "subjectPrefix": options.get("mail:subject_prefix", ""),
        "subjectTemplate": options.get("mail:subject_template", "$shortID - $title"),
        "defaultEnvironment": options.get("sentry:default_environment"),
        "verifySSL": bool(options.get("sentry:verify_ssl", False)),
        "digestsMinDelay": options.get("digests:mail:minimum_delay", 300),
        "digestsMaxDelay": options.get("digests:mail:maximum_delay", 1800),
        "securityToken": options.get("sentry:token"),
        "securityTokenHeader": options.get("sentry:token_header"),
        "highlightTags": options.get("sentry:highlight_tags", []),
        "debugFilesRole": options.get("sentry:debug_files_role"),
        "enableAutoReleaseCreation": bool(options.get("sentry:enable_auto_release_creation", True)),
        "options": {**dict(sorted(options.items())), **formatted_options(options)},
    }


def formatted_options(options: dict[str, Any]) -> dict[str, Any]:
    """Sentry's ``format_options``: the filter lists as the newline-joined text the settings
    forms edit, the "0"/"1" switches as booleans."""
    joined = {
        "sentry:csp_ignored_sources": "sentry:csp_ignored_sources",
        "filters:blacklisted_ips": "sentry:blacklisted_ips",
        "filters:releases": "sentry:releases",
        "filters:error_messages": "sentry:error_messages",
        "filters:log_messages": "sentry:log_messages",
        "filters:trace_metric_names": "sentry:trace_metric_names",
    }
    switches = ("filters:react-hydration-errors", "filters:chunk-load-error", "feedback:branding")
    return {
        "sentry:csp_ignored_sources_defaults": bool(options.get("sentry:csp_ignored_sources_defaults", True)),
        **{key: "\n".join(options.get(stored) or []) for key, stored in joined.items()},
        **{key: options.get(key, "1") == "1" for key in switches},
    }


def key_body(key: KeyRow, url_prefix: str) -> dict[str, Any]:
    """``ProjectKeySerializer``; DSNs and endpoints on the configured URL prefix."""
    endpoint = url_prefix.rstrip("/")
    scheme, _, host = endpoint.partition("://")
    pk, pid = key.public_key, key.project_id
    limited = key.rate_limit_count and key.rate_limit_window
    return {
        "id": pk,
        "name": key.label,
        "label": key.label,
        "public": pk,
        "secret": key.secret_key,
        "projectId": pid,
        "isActive": key.status == KEY_ACTIVE,
        "rateLimit": {"window": key.rate_limit_window, "count": key.rate_limit_count} if limited else None,
        "dsn": {
            "secret": f"{scheme}://{pk}:{key.secret_key}@{host}/{pid}",
            "public": f"{scheme}://{pk}@{host}/{pid}",
            "csp": f"{endpoint}/api/{pid}/csp-report/?sentry_key={pk}",
            "security": f"{endpoint}/api/{pid}/security/?sentry_key={pk}",
            "minidump": f"{endpoint}/api/{pid}/minidump/?sentry_key={pk}",
            "nel": f"{endpoint}/api/{pid}/nel/?sentry_key={pk}",
            "unreal": f"{endpoint}/api/{pid}/unreal/{pk}/",
            "crons": f"{endpoint}/api/{pid}/cron/___MONITOR_SLUG___/{pk}/",
            "cdn": f"{endpoint}/js-sdk-loader/{pk}.min.js",
            "playstation": f"{endpoint}/api/{pid}/playstation/?sentry_key={pk}",
            "integration": f"{endpoint}/api/{pid}/integration/",
            "otlp_traces": f"{endpoint}/api/{pid}/integration/otlp/v1/traces",
            "otlp_logs": f"{endpoint}/api/{pid}/integration/otlp/v1/logs",
        },
        "browserSdkVersion": key.browser_sdk_version or DEFAULT_BROWSER_SDK_VERSION,
        "browserSdk": {"choices": [[v, v] for v in BROWSER_SDK_CHOICES]},
        "dateCreated": iso(key.date_created),
        "dynamicSdkLoaderOptions": {name: name in key.loader_options for name in LOADER_OPTIONS},
    }
