"""Project and project key requests: Sentry's ``ProjectPostSerializer``,
``ProjectAdminSerializer`` (name, slug, platform, options) and ``ProjectKeySerializer`` fields;
then the bodies the project and key routes answer (``project_render``)."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validates
from sentry_relay.processing import validate_pii_selector

from api import drf
from api.response_fields import Any_, Body, Bool, Int, ListOf, Map, Null, Obj, Str, Time, strings
from commands.organizations import PROJECT_SLUG_INVALID
from commands.platforms import CONSOLES, is_valid_platform
from commands.project_keys import BROWSER_SDK_VERSIONS, LOADER_OPTIONS
from commands.slugs import MIXED_SLUG_PATTERN, PROJECT_SLUG_MAX_LENGTH, RESERVED_PROJECT_SLUGS
from events.option_registry import (
    DEBUG_FILES_ROLES,
    INT32_MAX,
    PROJECT_OPTIONS,
    STORE_CRASH_REPORTS_MAX,
    OptionError,
    normalize_project_option,
)

KEY_PATTERN = re.compile(r"^[a-f0-9]{32}$")
MAX_RATE_LIMIT_WINDOW = 60 * 60 * 24


def _slug(value: str) -> None:
    if not MIXED_SLUG_PATTERN.match(value):
        raise ValidationError(PROJECT_SLUG_INVALID)


def platform_error(platform: str | None, organization_options: dict[str, Any]) -> str | None:
    """``ProjectPostSerializer.validate_platform``: a known platform; a console only when the
    organization enabled it."""
    if not is_valid_platform(platform):
        return "Invalid platform"
    if platform in CONSOLES and platform not in (
        organization_options.get("sentry:enabled_console_platforms") or []
    ):
        return f"Console platform '{platform}' is not enabled for this organization"
    return None


class ProjectCreateSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    name = drf.String(max_length=50, required=True)
    slug = drf.String(max_length=PROJECT_SLUG_MAX_LENGTH, allow_none=True, validate=_slug)
    platform = drf.String(allow_blank=True, allow_none=True)
    default_rules = drf.Boolean()

    @validates("name")
    def _name(self, value: str, **kwargs: Any) -> None:
        if value in RESERVED_PROJECT_SLUGS:
            raise ValidationError(f'The name "{value}" is reserved and not allowed.')


class ProjectOptions(drf.Dict):
    """``options``: the keys Sentry's endpoint handles, each typed and normalized by the option
    registry (``sentry:origins`` text becomes its list of lines, ``sentry:resolve_age`` an
    integer, ...); a value that cannot be its type is a field error here. Other keys are
    ignored, as Sentry ignores them (``null`` still reaches the decider, which removes an
    option an earlier version stored under such a key)."""

    OPENAPI: ClassVar[dict[str, Any]]  # OPTIONS_SCHEMA, set below

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> dict[str, Any]:
        options: dict[str, Any] = {}
        errors: dict[str, list[str]] = {}
        for key, raw in super()._deserialize(value, attr, data, **kwargs).items():
            if key not in PROJECT_OPTIONS:
                if raw is None:
                    options[key] = None
                continue
            try:
                normalize_project_option(key, raw)
            except OptionError as exc:
                errors[key] = [exc.message]
            options[key] = raw  # the decider normalizes again: the event holds its result
        if errors:
            raise ValidationError(errors)
        return options


def _nullable(schema: Any) -> dict[str, Any]:
    """An option's schema, ``null`` allowed too (it removes the option)."""
    out = dict(schema)
    if isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    elif isinstance(out.get("type"), list):
        out["type"] = [*out["type"], "null"]
    return out


# ``options`` as the OpenAPI document describes it: every key the registry knows, typed.
OPTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {key: _nullable(spec.schema or {}) for key, spec in PROJECT_OPTIONS.items()},
    "additionalProperties": True,
    "description": "option key -> value; keys Sentry does not handle are ignored, null removes",
}
ProjectOptions.OPENAPI = OPTIONS_SCHEMA


def feature_errors(options: dict[str, Any], features: frozenset[str]) -> str | None:
    """Sentry answers ``{"detail": ...}`` for a feature-gated filter key without the feature."""
    for key in options:
        spec = PROJECT_OPTIONS.get(key)
        if spec is not None and not set(spec.features) <= features:
            return "You do not have that feature enabled"
    return None


def _pii_selectors(value: list[str]) -> None:
    """``validate_pii_selectors``: every selector parsed by Relay's own parser; one message
    naming each bad line."""
    problems = []
    for line, selector in enumerate(value, start=1):
        try:
            validate_pii_selector(selector)
        except ValueError as exc:
            text = str(exc)
            problems.append(f"{text[:1].upper()}{text[1:]} (line {line})")
    if problems:
        raise ValidationError(",\n".join(problems))


def _regex(pattern: str) -> Any:
    """DRF's ``RegexField`` (blank is allowed before the pattern is tried)."""
    compiled = re.compile(pattern)

    def check(value: str) -> None:
        if value and not compiled.search(value):
            raise ValidationError("This value does not match the required pattern.")

    return check


class AllowedDomains(drf.List):
    """``EmptyListField(child=OriginField(allow_blank=True))``: ``""`` is the empty list (which
    the decider refuses with Sentry's message)."""

    def __init__(self) -> None:
        super().__init__(drf.String(allow_blank=True))

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> list[Any]:
        return [] if value == "" else super()._deserialize(value, attr, data, **kwargs)


class EmptyInteger(drf.Integer):
    """``EmptyIntegerField``: ``""`` is ``None``."""

    def __init__(self) -> None:
        super().__init__(allow_none=True)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int | None:  # type: ignore[override]
        return None if value == "" else super()._deserialize(value, attr, data, **kwargs)


class ProjectUpdateSchema(Schema):
    """Sentry's ``ProjectAdminSerializer``; the settings fields (``PROJECT_SETTINGS``) become
    options in the decider, which also checks what needs the project (digest delays)."""

    class Meta:
        unknown = EXCLUDE

    name = drf.String(max_length=200)
    slug = drf.String(max_length=PROJECT_SLUG_MAX_LENGTH, validate=_slug)
    platform = drf.String(allow_blank=True, allow_none=True)
    options = ProjectOptions()
    isBookmarked = drf.Boolean()
    subjectPrefix = drf.String(max_length=200, allow_blank=True)
    subjectTemplate = drf.String(max_length=200)
    resolveAge = EmptyInteger()
    highlightTags = drf.List(drf.String())
    digestsMinDelay = drf.Integer(minimum=60, maximum=3600)
    digestsMaxDelay = drf.Integer(minimum=60, maximum=3600)
    securityToken = drf.String(max_length=255, allow_blank=True, validate=_regex(r"^[-a-zA-Z0-9+/=\s]+$"))
    securityTokenHeader = drf.String(max_length=64, allow_blank=True, validate=_regex(r"^[a-zA-Z0-9_\-]+$"))
    verifySSL = drf.Boolean()
    defaultEnvironment = drf.String(allow_blank=True, allow_none=True)
    dataScrubber = drf.Boolean()
    dataScrubberDefaults = drf.Boolean()
    sensitiveFields = drf.List(drf.String())
    safeFields = drf.List(drf.String(), validate=_pii_selectors)
    storeCrashReports = drf.Integer(minimum=-1, maximum=STORE_CRASH_REPORTS_MAX, allow_none=True)
    relayPiiConfig = drf.String(allow_blank=True, allow_none=True)
    scrubIPAddresses = drf.Boolean()
    scrapeJavaScript = drf.Boolean()
    enableAutoReleaseCreation = drf.Boolean()
    allowedDomains = AllowedDomains()
    debugFilesRole = drf.Choice(DEBUG_FILES_ROLES, allow_none=True)
    groupingConfig = fields.Raw(allow_none=True, metadata={"description": "cannot be set: a 400"})
    secondaryGroupingConfig = fields.Raw(allow_none=True, metadata={"description": "cannot be set: a 400"})
    secondaryGroupingExpiry = fields.Raw(allow_none=True, metadata={"description": "cannot be set: a 400"})

    @validates("platform")
    def _platform(self, value: str | None, **kwargs: Any) -> None:
        if not is_valid_platform(value):
            raise ValidationError("Invalid platform")


class RateLimitField(fields.Field):
    """The nested ``RateLimitSerializer`` (``EmptyIntegerField``s: ``""`` is ``None``);
    loads to ``(count, window)``."""

    OPENAPI: ClassVar[dict[str, Any]] = {
        "type": ["object", "null"],
        "properties": {
            "count": {"type": ["integer", "null"], "minimum": 0, "maximum": INT32_MAX},
            "window": {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_RATE_LIMIT_WINDOW},
        },
    }

    COUNT = drf.Integer(minimum=0, maximum=INT32_MAX, allow_none=True)  # a BoundedPositiveIntegerField
    WINDOW = drf.Integer(minimum=0, maximum=MAX_RATE_LIMIT_WINDOW, allow_none=True)

    def __init__(self) -> None:
        super().__init__(allow_none=True)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> tuple[int | None, int | None]:
        if not isinstance(value, dict):
            raise ValidationError(
                {
                    "non_field_errors": [
                        f"Invalid data. Expected a dictionary, but got {type(value).__name__}."
                    ]
                }
            )
        loaded: dict[str, int | None] = {}
        errors: dict[str, list[str]] = {}
        for name, field in (("count", self.COUNT), ("window", self.WINDOW)):
            raw = value.get(name)
            try:
                loaded[name] = None if raw in (None, "") else field.deserialize(raw)
            except ValidationError as exc:
                errors[name] = list(exc.messages) if isinstance(exc.messages, list) else [str(exc.messages)]
        if errors:
            raise ValidationError(errors)
        return loaded["count"], loaded["window"]


class LoaderOptions(fields.Field):
    """The nested ``DynamicSdkLoaderOptionSerializer`` (partial, may be null): the loader
    options given, as DRF booleans; other keys are dropped. Loads to ``(name, value)`` pairs."""

    OPENAPI: ClassVar[dict[str, Any]] = {
        "type": ["object", "null"],
        "description": "the JavaScript loader options to change; other keys are ignored",
        "properties": {name: {"type": "boolean"} for name in LOADER_OPTIONS},
    }

    OPTION = drf.Boolean()

    def __init__(self) -> None:
        super().__init__(allow_none=True)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> tuple[tuple[str, bool], ...]:
        if not isinstance(value, dict):
            expected = f"Invalid data. Expected a dictionary, but got {type(value).__name__}."
            raise ValidationError({"non_field_errors": [expected]})
        loaded: list[tuple[str, bool]] = []
        errors: dict[str, list[str]] = {}
        for name in (n for n in LOADER_OPTIONS if n in value):
            try:
                loaded.append((name, bool(self.OPTION.deserialize(value[name]))))
            except ValidationError as exc:
                errors[name] = list(exc.messages) if isinstance(exc.messages, list) else [str(exc.messages)]
        if errors:
            raise ValidationError(errors)
        return tuple(loaded)


def _key(value: str | None) -> None:
    if value is not None and not KEY_PATTERN.match(value):
        raise ValidationError("This value does not match the required pattern.")


class KeyCreateSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    name = drf.String(max_length=64, allow_blank=True, allow_none=True)
    public = drf.String(allow_none=True, validate=_key)
    secret = drf.String(allow_none=True, validate=_key)
    rateLimit = RateLimitField()
    isActive = drf.Boolean()


class KeyUpdateSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    name = drf.String(max_length=64, allow_blank=True, allow_none=True)
    isActive = drf.Boolean()
    rateLimit = RateLimitField()
    browserSdkVersion = drf.Choice(BROWSER_SDK_VERSIONS)
    dynamicSdkLoaderOptions = LoaderOptions()


# ---- responses (``project_render``) -------------------------------------------------------


class ProjectSummary(Body):
    """``project_render.project_summary``."""

    id = Str()
    slug = Str()
    name = Str()
    platform = Str(null=True)
    dateCreated = Time()
    isBookmarked = Bool()
    isMember = Bool()
    hasAccess = Bool()
    features = ListOf(strings())
    firstEvent = Null()
    firstTransactionEvent = Bool()
    access = ListOf(strings())


class OrganizationRef(Body):
    id = Str()
    slug = Str()
    name = Str()


class TeamRef(Body):
    """A team as a project names it."""

    id = Str()
    slug = Str()
    name = Str()


def _option(name: str) -> fields.Field:
    return Any_(description=f"the project option `{name}` as stored (a default when never set)")


class ProjectDetails(ProjectSummary):
    """``project_render.project_details``: the summary, the organization, and the settings
    derived from the project's options."""

    status = Str(enum=["active"])
    isPublic = Bool()
    isInternal = Bool()
    organization = Obj(OrganizationRef)
    team = Obj(TeamRef, null=True)  # the first of its teams, by slug
    teams = ListOf(TeamRef)
    allowedDomains = _option("sentry:origins")
    resolveAge = Int()
    dataScrubber = Bool()
    dataScrubberDefaults = Bool()
    safeFields = _option("sentry:safe_fields")
    sensitiveFields = _option("sentry:sensitive_fields")
    scrubIPAddresses = Bool()
    scrapeJavaScript = Bool()
    storeCrashReports = _option("sentry:store_crash_reports")
    relayPiiConfig = _option("sentry:relay_pii_config")
    subjectPrefix = _option("mail:subject_prefix")
    subjectTemplate = _option("mail:subject_template")
    defaultEnvironment = _option("sentry:default_environment")
    verifySSL = Bool()
    digestsMinDelay = _option("digests:mail:minimum_delay")
    digestsMaxDelay = _option("digests:mail:maximum_delay")
    securityToken = _option("sentry:token")
    securityTokenHeader = _option("sentry:token_header")
    highlightTags = _option("sentry:highlight_tags")
    debugFilesRole = _option("sentry:debug_files_role")
    enableAutoReleaseCreation = Bool()
    options = Map()


class RateLimit(Body):
    window = Int()
    count = Int()


class Dsn(Body):
    secret = Str()
    public = Str()
    csp = Str()
    security = Str()
    minidump = Str()
    nel = Str()
    unreal = Str()
    crons = Str()
    cdn = Str()
    playstation = Str()
    integration = Str()
    otlp_traces = Str()
    otlp_logs = Str()


class BrowserSdk(Body):
    choices = ListOf(fields.List(fields.String()))


class SdkLoaderOptions(Body):
    hasReplay = Bool()
    hasPerformance = Bool()
    hasDebug = Bool()
    hasFeedback = Bool()
    hasLogsAndMetrics = Bool()


class ProjectKey(Body):
    """``project_render.key_body`` (Sentry's ``ProjectKeySerializer``)."""

    id = Str()
    name = Str()
    label = Str()
    public = Str()
    secret = Str()
    projectId = Int()
    isActive = Bool()
    rateLimit = Obj(RateLimit, null=True)
    dsn = Obj(Dsn)
    browserSdkVersion = Str()
    browserSdk = Obj(BrowserSdk)
    dateCreated = Time()
    dynamicSdkLoaderOptions = Obj(SdkLoaderOptions)
