"""The project config document Relay fetches, built from a project's facts (pure functions).

Sentry builds it on request (``get_project_config``); here the relay_configs projection builds
it whenever one of its inputs changes, so a fetch is a cache read. Values we have no source for
take Sentry's defaults.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from events.option_registry import read_project_options

DEFAULT_BREAKDOWNS = {
    "span_ops": {"type": "spanOperations", "matches": ["http", "db", "browser", "resource", "ui"]}
}
DEFAULT_FILTERS = {
    "browserExtensions": {"isEnabled": False},
    "localhost": {"isEnabled": False},
    "legacyBrowsers": {"isEnabled": False},
    "webCrawlers": {"isEnabled": True},
}
GROUPING_CONFIG = {"id": "newstyle:2023-01-11", "enhancements": "KLUv_SAYwQAAkwORuGFsbC1wbGF0Zm9ybXM"}
EVENT_RETENTION_DAYS = 90
# Sentry's health-check filter (``filters:filtered-transaction``, on unless "0"): the globs of
# ``sentry.constants.HEALTH_CHECK_GLOBS``.
HEALTH_CHECK_OPTION = "filters:filtered-transaction"
HEALTH_CHECK_GLOBS = [
    "*healthcheck*", "*heartbeat*", "*/health", "*/healthy", "*/healthz",
    "*/live", "*/livez", "*/ready", "*/readyz", "*/ping",
]  # fmt: skip
# What ``get_project_config(full_config=False)`` returned: the part an external processor
# needs. Everything else of ``config`` is the full config's.
MINIMAL_CONFIG_KEYS = (
    "allowedDomains", "trustedRelays", "piiConfig", "datascrubbingSettings", "features", "txNameRules",
)  # fmt: skip
# Under ``organizations:dynamic-sampling``: ``generate_rules`` for a project whose blended
# sample rate is 1.0 (no quota backend sets another) is the uniform rule alone.
DYNAMIC_SAMPLING_FEATURE = "organizations:dynamic-sampling"
SAMPLING = {
    "version": 2,
    "rules": [
        {
            "samplingValue": {"type": "sampleRate", "value": 1.0},
            "type": "trace",
            "condition": {"op": "and", "inner": []},
            "id": 1000,
        }
    ],
}


@dataclass(frozen=True)
class KeyFacts:
    public_key: str
    key_id: int
    active: bool


@dataclass(frozen=True)
class ProjectFacts:
    project_id: int
    organization_id: int
    slug: str
    active: bool
    options: dict[str, Any] = field(default_factory=dict)
    organization_options: dict[str, Any] = field(default_factory=dict)
    trusted_relays: tuple[str, ...] = ()


def blocking_for_relay(raw: Any) -> dict[str, Any] | None:
    """``get_metrics_blocking_state_for_relay_config``: blocked metrics become ``deniedNames``,
    metrics with only blocked tags become ``deniedTags``; a malformed option gives nothing.
    Entries are read as the metrics commands read them (mri and tags as text), so a value an
    older version stored unchecked (tags of mixed types) still makes a document."""
    try:
        entries = json.loads(raw) if isinstance(raw, str) and raw else []
    except ValueError:
        return None
    if not isinstance(entries, list):
        return None
    denied_names, denied_tags = [], []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("metric_mri"), str):
            continue
        tags = entry.get("blocked_tags") or []
        tags = sorted({str(tag) for tag in tags}) if isinstance(tags, list) else []
        if entry.get("is_blocked"):
            denied_names.append(entry["metric_mri"])
        elif tags:
            denied_tags.append({"name": [entry["metric_mri"]], "tags": tags})
    if not denied_names and not denied_tags:
        return None
    return {"deniedNames": denied_names, "deniedTags": denied_tags}


def _strings(value: Any) -> list[str]:
    """An organization's list option as text items (the organization's settings are typed at
    the edge; this keeps an unchecked older value from failing the document)."""
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _scrubbing(options: dict[str, Any], org: dict[str, Any]) -> dict[str, Any]:
    """Project settings, with the organization's requirements taking precedence."""
    return {
        "excludeFields": list(options.get("sentry:safe_fields") or [])
        + _strings(org.get("sentry:safe_fields")),
        "scrubData": bool(options.get("sentry:scrub_data", True) or org.get("sentry:require_scrub_data")),
        "scrubIpAddresses": bool(
            options.get("sentry:scrub_ip_address", False) or org.get("sentry:require_scrub_ip_address")
        ),
        "sensitiveFields": list(options.get("sentry:sensitive_fields") or [])
        + _strings(org.get("sentry:sensitive_fields")),
        "scrubDefaults": bool(
            options.get("sentry:scrub_defaults", True) or org.get("sentry:require_scrub_defaults")
        ),
    }


def _pii_config(options: dict[str, Any], org: dict[str, Any]) -> Any:
    raw = options.get("sentry:relay_pii_config") or org.get("sentry:relay_pii_config")
    if not raw:
        return None
    try:
        return json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return None


def _health_check_filter(options: dict[str, Any]) -> dict[str, Any]:
    """``ignoreTransactions`` while the filter is on; Sentry leaves disabled filters out."""
    if str(options.get(HEALTH_CHECK_OPTION, "1")) == "0":
        return {}
    return {"ignoreTransactions": {"patterns": HEALTH_CHECK_GLOBS, "isEnabled": True}}


def inner_config(p: ProjectFacts) -> dict[str, Any]:
    """Options are read through the option registry: each as its type, so ``sentry:origins``
    "a.com\nb.com" (stored raw by older versions) is two domains, and a value that is not its
    type is its default."""
    options, org = read_project_options(p.options), p.organization_options
    metrics: dict[str, Any] = {"cardinalityLimits": []}
    blocking = blocking_for_relay(options.get("sentry:blocked_metrics"))
    if blocking:
        metrics.update(blocking)
    return {
        "allowedDomains": list(options.get("sentry:origins") or ["*"]),
        "trustedRelays": list(p.trusted_relays),
        "piiConfig": _pii_config(options, org),
        "datascrubbingSettings": _scrubbing(options, org),
        "features": [],
        "txNameRules": [],
        "breakdownsV2": DEFAULT_BREAKDOWNS,  # no route sets sentry:breakdowns
        "metrics": metrics,
        "transactionMetrics": {
            "version": 6,
            "extractCustomTags": list(options.get("sentry:transaction_metrics_custom_tags") or []),
            "customMeasurements": {"limit": 10},
            "acceptTransactionNames": "clientBased",
        },
        "sessionMetrics": {"version": 1},
        "performanceScore": {"profiles": []},
        "filterSettings": {
            **DEFAULT_FILTERS,
            "releases": {"releases": list(options.get("sentry:releases") or [])},
            "errorMessages": {"patterns": list(options.get("sentry:error_messages") or [])},
            "clientIps": {"blacklistedIps": list(options.get("sentry:blacklisted_ips") or [])},
            "csp": {"disallowedSources": list(options.get("sentry:csp_ignored_sources") or [])},
            **_health_check_filter(options),
        },
        "groupingConfig": GROUPING_CONFIG,
        "eventRetention": EVENT_RETENTION_DAYS,
        "quotas": [],
    }


def timestamp(at: datetime) -> str:
    """Sentry's (and Relay's) form of a date: UTC, microseconds always, ``Z``."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def document(p: ProjectFacts, key: KeyFacts, rev: str, last_change: datetime) -> dict[str, Any]:
    """The full state for one public key; ``{"disabled": true}`` when it must not be served.
    The full config lists ``quotas`` on each public key, as Sentry's did (empty: a key's rate
    limit does not reach the config yet)."""
    if not p.active or not key.active:
        return {"disabled": True}
    return {
        "disabled": False,
        "slug": p.slug,
        "lastChange": timestamp(last_change),
        "rev": rev,
        "publicKeys": [
            {"publicKey": key.public_key, "numericId": key.key_id, "isEnabled": True, "quotas": []}
        ],
        "config": inner_config(p),
        "organizationId": p.organization_id,
        "projectId": p.project_id,
    }


def minimal(doc: dict[str, Any]) -> dict[str, Any]:
    """The config ``get_project_config(full_config=False)`` gave, cut from the full document:
    no filters, grouping, metrics, retention or quotas (also none on the keys)."""
    if doc.get("disabled"):
        return doc
    config = doc["config"]
    return {
        **doc,
        "publicKeys": [{k: v for k, v in key.items() if k != "quotas"} for key in doc["publicKeys"]],
        "config": {k: config[k] for k in MINIMAL_CONFIG_KEYS if k in config},
    }


def with_features(doc: dict[str, Any], features: frozenset[str]) -> dict[str, Any]:
    """What the server's feature flags add (they are settings, not in the log, so they are
    applied when serving): ``sampling`` under dynamic sampling."""
    if DYNAMIC_SAMPLING_FEATURE in features and not doc.get("disabled"):
        doc["config"]["sampling"] = SAMPLING
    return doc


BUILTIN_MEASUREMENTS = [
    {"name": name, "unit": unit}
    for name, unit in (
        ("app_start_cold", "millisecond"), ("app_start_warm", "millisecond"), ("cls", "none"),
        ("fcp", "millisecond"), ("fid", "millisecond"), ("fp", "millisecond"),
        ("frames_frozen", "none"), ("frames_slow", "none"), ("frames_total", "none"),
        ("inp", "millisecond"), ("lcp", "millisecond"), ("stall_count", "none"),
        ("stall_longest_time", "millisecond"), ("stall_percentage", "ratio"),
        ("stall_total_time", "millisecond"), ("ttfb", "millisecond"), ("ttfb.requesttime", "millisecond"),
    )
]  # fmt: skip

GLOBAL_CONFIG: dict[str, Any] = {
    "measurements": {"builtinMeasurements": BUILTIN_MEASUREMENTS, "maxCustomMeasurements": 10},
    "options": {},
}
