"""The registry of option keys: for each project and organization option, the one type its
value has in the log, and how a value a client sends becomes it.

Types and normalizations are Sentry's (``project_details.py``'s handling of ``options``,
``organization_details.py``'s ORG_OPTIONS). Deciders put every option value through
``normalize_project_option`` (or an ORG_OPTIONS row's normalizer) before it becomes an event,
so each value in the log is one every projection can fold. Projections read stored values
through ``read_project_options``: values older versions appended unchecked still fold, as the
option's default when they cannot be read as its type.

This lives with the events because the value is part of what an option event carries, and
both the command side and the projections must read it the same way.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

INT32_MAX = 2**31 - 1  # Django's IntegerField and BoundedPositiveIntegerField columns
MAX_SENSITIVE_FIELD_CHARS = 4000  # Relay compiles the sensitive fields into one regex
STORE_CRASH_REPORTS_MAX = 100
CUSTOM_INBOUND_FILTERS = "projects:custom-inbound-filters"

INVALID_INTEGER = "A valid integer is required."
INVALID_NUMBER = "A valid number is required."
INVALID_STRING = "Not a valid string."
SENSITIVE_FIELDS_TOO_LONG = "List of sensitive fields is too long."
_DECIMAL = re.compile(r"\.0*\s*$")  # DRF's IntegerField drops a zero fraction ("24.0" is 24)

# JSON schemas of what the options take, for the OpenAPI document (and the fuzzers it drives).
_LINES = {"type": ["string", "array"], "items": {"type": "string"}, "description": "newline-separated text"}
_ANY: dict[str, Any] = {"description": "any value: stored as bool(value)"}
_TEXT = {"type": ["string", "number"]}
_CRASH_REPORTS = {"type": ["integer", "boolean"], "minimum": -1, "maximum": STORE_CRASH_REPORTS_MAX}


class OptionError(ValueError):
    """A value that cannot become the option's type; ``message`` is the field error."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


Normalizer = Callable[[Any], Any]


def boolean(value: Any) -> bool:
    """Sentry stores ``bool(value)`` for its boolean options, whatever was sent."""
    return bool(value)


def flag(value: Any) -> str:
    """``filters:*`` switches and ``feedback:branding`` are stored as "1" or "0" (which stay
    what they are, so reading a stored value gives it back)."""
    if value in ("0", "1"):
        return str(value)
    return "1" if bool(value) else "0"


def _type_name(value: Any) -> str:
    return type(value).__name__


def _bounded(number: int | float, minimum: float | None, maximum: float | None) -> None:
    if minimum is not None and number < minimum:
        raise OptionError(f"Ensure this value is greater than or equal to {minimum}.")
    if maximum is not None and number > maximum:
        raise OptionError(f"Ensure this value is less than or equal to {maximum}.")


def integer(minimum: int | None = -INT32_MAX - 1, maximum: int | None = INT32_MAX) -> Normalizer:
    """DRF's ``IntegerField``: integers, integral floats and their text; within the range
    of the column the value reaches (a 32-bit integer unless said otherwise)."""

    def normalize(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise OptionError(INVALID_INTEGER)
        if isinstance(value, str) and len(value) > 1000:
            raise OptionError(INVALID_INTEGER)
        try:
            number = int(_DECIMAL.sub("", str(value)))
        except ValueError:
            raise OptionError(INVALID_INTEGER) from None
        _bounded(number, minimum, maximum)
        return number

    normalize.schema = {  # type: ignore[attr-defined]
        "type": "integer",  # (its text too, as DRF takes it)
        **({"minimum": minimum} if minimum is not None else {}),
        **({"maximum": maximum} if maximum is not None else {}),
    }
    return normalize


def number(minimum: float | None = None, maximum: float | None = None) -> Normalizer:
    """DRF's ``FloatField``, finite only (JSON has no NaN or Infinity)."""

    def normalize(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise OptionError(INVALID_NUMBER)
        try:
            result = float(value)
        except (ValueError, OverflowError):
            raise OptionError(INVALID_NUMBER) from None
        if not math.isfinite(result):
            raise OptionError(INVALID_NUMBER)
        _bounded(result, minimum, maximum)
        return result

    return normalize


def string(max_length: int | None = None) -> Normalizer:
    """A text value; numbers become their text, as DRF's ``CharField`` takes them."""

    def normalize(value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise OptionError(INVALID_STRING)
        text = value if isinstance(value, str) else str(value)
        if max_length is not None and len(text) > max_length:
            raise OptionError(f"Ensure this field has no more than {max_length} characters.")
        return text

    normalize.schema = {  # type: ignore[attr-defined]
        "type": ["string", "number"],
        **({"maxLength": max_length} if max_length is not None else {}),
    }
    return normalize


def choice(*choices: str) -> Normalizer:
    def normalize(value: Any) -> str:
        if isinstance(value, str) and value in choices:
            return value
        raise OptionError(f'"{value}" is not a valid choice.')

    return normalize


def _items(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise OptionError(f'Expected a list of items but got type "{_type_name(value)}".')
    if not all(isinstance(item, str) for item in value):
        raise OptionError(INVALID_STRING)
    return value


def lines(case_insensitive: bool = True, max_chars: int | None = None) -> Normalizer:
    """Sentry's ``clean_newline_inputs``: newline-separated text (or a list of strings, which
    the settings forms of other versions send) to a list of stripped, non-empty lines."""

    def normalize(value: Any) -> list[str]:
        result = []
        for item in _items(value):
            for line in item.split("\n"):
                line = (line.lower() if case_insensitive else line).strip()
                if line:
                    result.append(line)
        if max_chars is not None and sum(map(len, result)) > max_chars:
            raise OptionError(SENSITIVE_FIELDS_TOO_LONG)
        return result

    normalize.schema = _LINES  # type: ignore[attr-defined]
    return normalize


def strings(value: Any) -> list[str]:
    """A list of strings, as it is (the organization's list fields)."""
    if not isinstance(value, list):
        raise OptionError(f'Expected a list of items but got type "{_type_name(value)}".')
    if not all(isinstance(item, str) for item in value):
        raise OptionError(INVALID_STRING)
    return list(value)


def crash_reports(value: Any) -> int:
    """``convert_crashreport_count``: True is every report (-1), False none, else a count."""
    if value is True:
        return -1
    if value is False:
        return 0
    return int(integer(-1, STORE_CRASH_REPORTS_MAX)(value))


def pii_config(value: Any) -> str | None:
    """Sentry stores ``value.strip() or None``: blank text removes the option."""
    return string()(value).strip() or None


def trusted_relays(value: Any) -> list[dict[str, Any]]:
    """``sentry:trusted-relays`` as ``save_trusted_relays`` stores it."""
    if not isinstance(value, list):
        raise OptionError(f'Expected a list of items but got type "{_type_name(value)}".')
    stored = []
    for item in value:
        if not isinstance(item, dict) or not all(
            isinstance(item.get(k), str) for k in ("public_key", "name", "created")
        ):
            raise OptionError("Bad structure received for Trusted Relays")
        fields = ("public_key", "name", "description", "created", "last_modified")
        entry = {k: item.get(k) for k in fields}
        if not all(entry[k] is None or isinstance(entry[k], str) for k in fields):
            raise OptionError("Bad structure received for Trusted Relays")
        stored.append(entry)
    return stored


@dataclass(frozen=True)
class ProjectOption:
    """A key ``PUT /projects/{org}/{project}/`` takes in ``options``: the key its value is
    stored under, its normalizer, the feature Sentry requires for it, and the JSON schema of
    what it accepts (for the OpenAPI document)."""

    key: str
    stored_as: str
    normalize: Normalizer
    features: tuple[str, ...] = ()
    schema: Mapping[str, Any] | None = None


def _option(key: str, normalize: Normalizer, stored_as: str | None = None, *features: str) -> ProjectOption:
    schemas: dict[Any, Mapping[str, Any]] = {boolean: _ANY, flag: _ANY, crash_reports: _CRASH_REPORTS}
    schema = schemas.get(normalize) or getattr(normalize, "schema", _TEXT)
    return ProjectOption(key, stored_as or key, normalize, features, schema)


# The keys Sentry's project endpoint handles, in its order; it ignores every other key.
PROJECT_OPTIONS: dict[str, ProjectOption] = {
    option.key: option
    for option in (
        _option("sentry:origins", lines()),
        _option("sentry:resolve_age", integer(0)),
        _option("sentry:scrub_data", boolean),
        _option("sentry:scrub_defaults", boolean),
        _option("sentry:safe_fields", lines()),
        _option("sentry:store_crash_reports", crash_reports),
        _option("sentry:relay_pii_config", pii_config),
        _option("sentry:sensitive_fields", lines(max_chars=MAX_SENSITIVE_FIELD_CHARS)),
        _option("sentry:scrub_ip_address", boolean),
        _option("sentry:grouping_config", string()),
        _option("sentry:fingerprinting_rules", string()),
        _option("mail:subject_prefix", string(200)),
        _option("sentry:default_environment", string()),
        _option("sentry:csp_ignored_sources_defaults", boolean),
        _option("sentry:csp_ignored_sources", lines()),
        _option("sentry:blacklisted_ips", lines()),
        _option("feedback:branding", flag),
        _option("sentry:replay_rage_click_issues", boolean),
        _option("sentry:replay_hydration_error_issues", boolean),
        _option("sentry:feedback_user_report_notifications", boolean),
        _option("sentry:feedback_ai_spam_detection", boolean),
        _option("sentry:toolbar_allowed_origins", lines()),
        _option("filters:react-hydration-errors", flag),
        _option("filters:chunk-load-error", flag),
        _option("filters:blacklisted_ips", lines(), "sentry:blacklisted_ips"),
        _option("filters:releases", lines(), "sentry:releases", CUSTOM_INBOUND_FILTERS),
        _option(
            "filters:error_messages",
            lines(case_insensitive=False),
            "sentry:error_messages",
            CUSTOM_INBOUND_FILTERS,
        ),
        _option(
            "filters:log_messages",
            lines(case_insensitive=False),
            "sentry:log_messages",
            CUSTOM_INBOUND_FILTERS,
            "organizations:ourlogs-ingestion",
        ),
        _option(
            "filters:trace_metric_names",
            lines(case_insensitive=False),
            "sentry:trace_metric_names",
            CUSTOM_INBOUND_FILTERS,
            "organizations:tracemetrics-ingestion",
        ),
        _option("sentry:relay_automatic_json_expansion", boolean),
        # not in Sentry's ``options`` (its tests set them with ``update_option``): the one way
        # here to set them without the order check the top-level fields get
        _option("digests:mail:minimum_delay", integer(60, 3600)),
        _option("digests:mail:maximum_delay", integer(60, 3600)),
        _option("sentry:uptime_autodetection", boolean),
    )
}

# The top-level fields of ``PUT /projects/{org}/{project}/`` that are options (Sentry's
# ``ProjectAdminSerializer``): field -> the key it is stored under, and the type the stored value
# has. The API loads each field as Sentry's serializer does; the decider puts the result through
# this type again before it becomes an event.
DEBUG_FILES_ROLES = ("member", "admin", "manager", "owner")
PROJECT_SETTINGS: dict[str, tuple[str, Normalizer]] = {
    "subjectPrefix": ("mail:subject_prefix", string(200)),
    "subjectTemplate": ("mail:subject_template", string(200)),
    "digestsMinDelay": ("digests:mail:minimum_delay", integer(60, 3600)),
    "digestsMaxDelay": ("digests:mail:maximum_delay", integer(60, 3600)),
    "scrubIPAddresses": ("sentry:scrub_ip_address", boolean),
    "securityToken": ("sentry:token", string(255)),
    "securityTokenHeader": ("sentry:token_header", string(64)),
    "verifySSL": ("sentry:verify_ssl", boolean),
    "dataScrubber": ("sentry:scrub_data", boolean),
    "dataScrubberDefaults": ("sentry:scrub_defaults", boolean),
    "sensitiveFields": ("sentry:sensitive_fields", strings),
    "safeFields": ("sentry:safe_fields", strings),
    "highlightTags": ("sentry:highlight_tags", strings),
    "storeCrashReports": ("sentry:store_crash_reports", crash_reports),
    "relayPiiConfig": ("sentry:relay_pii_config", pii_config),
    "defaultEnvironment": ("sentry:default_environment", string()),
    "resolveAge": ("sentry:resolve_age", integer(0)),
    "scrapeJavaScript": ("sentry:scrape_javascript", boolean),
    "enableAutoReleaseCreation": ("sentry:enable_auto_release_creation", boolean),
    "allowedDomains": ("sentry:origins", lines()),
    "debugFilesRole": ("sentry:debug_files_role", choice(*DEBUG_FILES_ROLES)),
}

# Stored key -> the type its value has, for reading what the log holds. Options that commands
# of their own write (``sentry:blocked_metrics``) are read by the code that knows their format.
_STORED_TYPES: dict[str, Normalizer] = {
    **{stored: normalize for stored, normalize in PROJECT_SETTINGS.values()},
    # a key both take is read as ``options`` types it (it reads the text older versions stored)
    **{spec.stored_as: spec.normalize for spec in PROJECT_OPTIONS.values()},
    "sentry:transaction_metrics_custom_tags": lines(case_insensitive=False),
}


def normalize_project_option(key: str, value: Any) -> tuple[str, Any] | None:
    """``(stored key, value)`` for a key Sentry handles (value ``None``: remove the option), or
    ``None`` for a key it ignores. Raises ``OptionError`` for a value it cannot take."""
    spec = PROJECT_OPTIONS.get(key)
    if spec is None:
        return None
    return spec.stored_as, None if value is None else spec.normalize(value)


def read_project_option(key: str, stored: Any) -> Any:
    """A stored value as its type; ``None`` (never set) when an older, unchecked write left
    something that is not. Keys the registry does not type are returned as stored."""
    normalize = _STORED_TYPES.get(key)
    if normalize is None or stored is None:
        return stored
    try:
        return normalize(stored)
    except OptionError:
        return None


def read_project_options(stored: Mapping[str, Any]) -> dict[str, Any]:
    """Every stored option read as its type; unreadable values are left out (their default)."""
    options = {}
    for key, value in stored.items():
        read = read_project_option(key, value)
        if read is not None:
            options[key] = read
    return options
