"""``PUT /organizations/{org}/``: Sentry's ``OrganizationSerializer`` fields and messages.

Field rules live here; rules that need the request's context (features, staff, the token's
scopes, other organizations' slugs) are checked by the route; rules that need the
organization's state by the decider. Then the body the organization routes answer
(``organization_render``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validates
from sentry_relay.auth import PublicKey
from sentry_relay.exceptions import RelayError
from sentry_relay.processing import validate_pii_config, validate_pii_selector

from api import drf
from api.organization_render import SUMMARY_KEYS
from api.project_schemas import ProjectSummary
from api.response_fields import Body, Bool, Int, ListOf, Null, Num, Obj, Str, Time, strings
from commands.org_options import ORG_OPTIONS, ROLES, STORE_CRASH_REPORTS_MAX, convert_crashreport_count
from events.option_registry import INT32_MAX

MAX_SENSITIVE_FIELD_CHARS = 4000  # Relay compiles the list into one regex
AUTOFIX_TUNINGS = ("off", "super_low", "low", "medium", "high", "always")
CODING_AGENTS = ("seer", "cursor", "claude_code", "cursor_background_agent", "claude_code_agent")
CODING_AGENT_ALIASES = {"cursor": "cursor_background_agent", "claude_code": "claude_code_agent"}
RUN_STOPPING_POINTS = ("root_cause", "solution", "code_changes", "open_pr")
CONSOLE_PLATFORMS = ("playstation", "xbox", "nintendo-switch")


class TrustedRelayField(fields.Field):
    """``TrustedRelaySerializer.to_internal_value``, message for message."""

    OPENAPI: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["name", "publicKey"],
        "properties": {
            "name": {"type": "string", "minLength": 1},
            "publicKey": {"type": "string", "description": "a relay public key"},
            "description": {"type": ["string", "null"]},
        },
    }

    def __init__(self) -> None:
        super().__init__(error_messages={"null": drf.NULL})

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> dict[str, Any]:
        if not isinstance(value, dict) or not isinstance(value.get("name", ""), str):
            raise ValidationError("Bad structure received for Trusted Relays")
        name, public_key = value.get("name"), value.get("publicKey") or ""
        if name is None:
            raise ValidationError("Relay key info with missing name in Trusted Relays")
        name = name.strip()
        if not name:
            raise ValidationError("Relay key info with empty name in Trusted Relays")
        if not public_key:
            raise ValidationError(
                f"Missing public key for relay key info with name:'{name}' in Trusted Relays"
            )
        try:
            PublicKey.parse(public_key if isinstance(public_key, str) else "")
        except RelayError:
            raise ValidationError(
                f"Invalid public key for relay key info with name:'{name}' in Trusted Relays"
            ) from None
        description = value.get("description")
        if description is not None and not isinstance(description, str):
            # Sentry stores whatever was sent; a description is text everywhere it is shown
            raise ValidationError("Bad structure received for Trusted Relays")
        return {"public_key": public_key, "name": name, "description": description}


def _role(value: str) -> None:
    if value not in ROLES:
        raise ValidationError("Invalid role")


class OrganizationSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    name = drf.String(max_length=64)
    slug = drf.String(trim=False, allow_blank=True)  # the route applies the slug rules to the raw value
    # flags
    openMembership = drf.Boolean()
    allowSharedIssues = drf.Boolean()
    allowMemberInvite = drf.Boolean()
    allowMemberProjectCreation = drf.Boolean()
    allowSuperuserAccess = drf.Boolean()
    enhancedPrivacy = drf.Boolean()
    isEarlyAdopter = drf.Boolean()
    codecovAccess = drf.Boolean()
    require2FA = drf.Boolean()
    # options
    dataScrubber = drf.Boolean()
    dataScrubberDefaults = drf.Boolean()
    sensitiveFields = drf.List(drf.String(allow_blank=True))
    safeFields = drf.List(drf.String(allow_blank=True))
    storeCrashReports = drf.Integer(minimum=-1, maximum=STORE_CRASH_REPORTS_MAX)
    attachmentsRole = drf.String(validate=_role)
    debugFilesRole = drf.String(validate=_role)
    eventsMemberAdmin = drf.Boolean()
    alertsMemberWrite = drf.Boolean()
    scrubIPAddresses = drf.Boolean()
    scrapeJavaScript = drf.Boolean()
    hideAiFeatures = drf.Boolean()
    githubNudgeInvite = drf.Boolean()
    githubPRBot = drf.Boolean()
    gitlabPRBot = drf.Boolean()
    issueAlertsThreadFlag = drf.Boolean()
    metricAlertsThreadFlag = drf.Boolean()
    trustedRelays = drf.List(TrustedRelayField())
    allowJoinRequests = drf.Boolean()
    relayPiiConfig = drf.String(allow_blank=True, allow_none=True)
    apdexThreshold = drf.Integer(minimum=1, maximum=INT32_MAX)
    targetSampleRate = drf.Float(minimum=0, maximum=1)
    samplingMode = drf.Choice(("organization", "project"))
    rollbackEnabled = drf.Boolean()
    defaultAutofixAutomationTuning = drf.Choice(AUTOFIX_TUNINGS)
    defaultSeerScannerAutomation = drf.Boolean()
    enableSeerEnhancedAlerts = drf.Boolean()
    enableSeerCoding = drf.Boolean()
    enablePrReviewTestGeneration = drf.Boolean()
    defaultCodingAgent = drf.Choice(CODING_AGENTS, allow_none=True)
    defaultCodingAgentIntegrationId = drf.Integer(maximum=INT32_MAX, allow_none=True)
    defaultAutomatedRunStoppingPoint = drf.String()
    autoOpenPrs = drf.Boolean()
    autoEnableCodeReview = drf.Boolean()
    defaultCodeReviewTriggers = drf.List(drf.Choice(("on_ready_for_review", "on_new_commit")))
    ingestThroughTrustedRelaysOnly = drf.Choice(("enabled", "disabled"))
    enabledConsolePlatforms = drf.List(drf.Choice(CONSOLE_PLATFORMS))
    consoleSdkInviteQuota = drf.Integer(minimum=0, maximum=INT32_MAX)
    dashboardsAsyncQueueParallelLimit = drf.Integer(minimum=1, maximum=INT32_MAX)

    @validates("sensitiveFields")
    def _sensitive_fields(self, value: list[str], **kwargs: Any) -> None:
        if value and not all(value):
            raise ValidationError("Empty values are not allowed.")
        if sum(map(len, value)) > MAX_SENSITIVE_FIELD_CHARS:
            raise ValidationError("List of sensitive fields is too long.")

    @validates("safeFields")
    def _safe_fields(self, value: list[str], **kwargs: Any) -> None:
        if value and not all(value):
            raise ValidationError("Empty values are not allowed.")
        errors = []
        for line, selector in enumerate(value, start=1):
            try:
                validate_pii_selector(selector)
            except ValueError as exc:
                errors.append(f"{exc} (line {line})".capitalize())
        if errors:
            raise ValidationError(",\n".join(errors))

    @validates("trustedRelays")
    def _trusted_relays(self, value: list[dict[str, Any]], **kwargs: Any) -> None:
        seen: set[str] = set()
        for item in value:
            if item["public_key"] in seen:
                raise ValidationError(f"Duplicated key in Trusted Relays: '{item['public_key']}'")
            seen.add(item["public_key"])

    @validates("relayPiiConfig")
    def _pii_config(self, value: str | None, **kwargs: Any) -> None:
        if value:
            try:
                validate_pii_config(value)
            except ValueError as exc:
                raise ValidationError(str(exc)) from None

    @validates("defaultAutomatedRunStoppingPoint")
    def _stopping_point(self, value: str, **kwargs: Any) -> None:
        if value not in RUN_STOPPING_POINTS:
            raise ValidationError(f'"{value}" is not a valid choice.')


class OwnerOrganizationSchema(OrganizationSchema):
    """For tokens with ``org:admin`` (``OwnerOrganizationSerializer``)."""

    defaultRole = drf.Choice(ROLES)
    cancelDeletion = drf.Boolean()
    hasGranularReplayPermissions = drf.Boolean()
    replayAccessMembers = drf.List(drf.Integer(), allow_none=True)  # user ids: none can be named


# ---- response (``organization_render``) ---------------------------------------------------


class Status(Body):
    id = Str()
    name = Str()


class Avatar(Body):
    avatarType = Str()
    avatarUuid = Null()
    avatarUrl = Null()


class Links(Body):
    organizationUrl = Str()
    regionUrl = Str()


class Role(Body):
    id = Str(enum=list(ROLES))
    name = Str()


class TrustedRelay(Body):
    """``_relay_internal_to_external``: optional keys only when set."""

    name = Str()
    publicKey = Str()
    description = Str(optional=True)
    created = Time(optional=True)
    lastModified = Time(optional=True)


# Sentry shows these only with the custom dynamic sampling feature.
_FEATURE_GATED = {"targetSampleRate", "samplingMode"}
_CONVERTED = {"sensitiveFields": ListOf(strings()), "safeFields": ListOf(strings())}


def _org_option_field(name: str, convert: Any, default: Any) -> fields.Field:
    """An ORG_OPTIONS row's field: its type, nullable when its default is ``None``."""
    if name in _CONVERTED:
        return _CONVERTED[name]
    optional, null = name in _FEATURE_GATED, default is None
    if convert is convert_crashreport_count:
        return Int()
    by_type = {bool: Bool, int: Int, float: Num, str: Str}
    if convert is list:
        return ListOf(strings(), optional=optional, null=null)
    return by_type[convert](optional=optional, null=null)


_DETAILS: dict[str, fields.Field] = {
    "id": Str(),
    "slug": Str(),
    "status": Obj(Status),
    "name": Str(),
    "dateCreated": Time(),
    "isEarlyAdopter": Bool(),
    "require2FA": Bool(),
    "requireEmailVerification": Bool(),
    "avatar": Obj(Avatar),
    "allowMemberInvite": Bool(),
    "allowMemberProjectCreation": Bool(),
    "allowSuperuserAccess": Bool(),
    "links": Obj(Links),
    "hasAuthProvider": Bool(),
    "features": ListOf(strings()),
    "isDefault": Bool(),
    "defaultRole": Str(enum=list(ROLES)),
    "availableRoles": ListOf(Role),
    "openMembership": Bool(),
    "allowSharedIssues": Bool(),
    "enhancedPrivacy": Bool(),
    "codecovAccess": Bool(),
    **{o.field: _org_option_field(o.field, o.convert, o.default) for o in ORG_OPTIONS},
    "hasGranularReplayPermissions": Bool(),
    "replayAccessMembers": ListOf(Int()),
    "trustedRelays": ListOf(TrustedRelay),
    "pendingAccessRequests": Int(),
    "access": ListOf(strings()),
    "teams": ListOf(fields.Raw()),
    "projects": ListOf(ProjectSummary),
}
for _key, _field in _DETAILS.items():  # ``?detailed=0`` shows only the summary
    if _key not in SUMMARY_KEYS:
        _field.required = False
_DETAILS["features"].required = False  # only with ?include_feature_flags=1
OrganizationDetails = Body.from_dict(_DETAILS, name="OrganizationDetails")
OrganizationDetails.__doc__ = (
    "``organization_render.organization_details`` (with the organization's projects)."
)
