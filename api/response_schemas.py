"""Response bodies as marshmallow schemas, for the OpenAPI document (``api/openapi.py``).

The routes build their bodies as dicts (``api/*_render.py``, the route modules); these schemas
describe exactly what they return: every field listed is always present unless marked
``optional``, ``null`` marks the fields that may be ``null``, and no other field appears
(``unknown = RAISE`` becomes ``additionalProperties: false``). Values a client stored (project
options, audit data) are ``Raw``: any JSON value.
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, fields, validate

from commands.org_options import ORG_OPTIONS, ROLES, convert_crashreport_count


def _kw(optional: bool, null: bool, **kwargs: Any) -> dict[str, Any]:
    return {"required": not optional, "allow_none": null, **kwargs}


def Str(
    *, optional: bool = False, null: bool = False, enum: list[str] | None = None, **kw: Any
) -> fields.Field:
    validators = [validate.OneOf(enum)] if enum else []
    return fields.String(validate=validators, **_kw(optional, null, **kw))


def Time(*, optional: bool = False, null: bool = False) -> fields.Field:
    """An ISO 8601 datetime in UTC (``…Z``)."""
    return fields.String(metadata={"format": "date-time"}, **_kw(optional, null))


def Int(*, optional: bool = False, null: bool = False) -> fields.Field:
    return fields.Integer(strict=True, **_kw(optional, null))


def Num(*, optional: bool = False, null: bool = False) -> fields.Field:
    return fields.Float(**_kw(optional, null))


def Bool(*, optional: bool = False, null: bool = False) -> fields.Field:
    return fields.Boolean(**_kw(optional, null))


def Any_(*, optional: bool = False, description: str | None = None) -> fields.Field:
    """Any JSON value, ``null`` included."""
    return fields.Raw(metadata={"description": description} if description else {}, **_kw(optional, True))


def Obj(schema: type[Schema], *, optional: bool = False, null: bool = False) -> fields.Field:
    return fields.Nested(schema, **_kw(optional, null))


def Map(values: fields.Field | None = None, *, optional: bool = False, **kw: Any) -> fields.Field:
    """A JSON object with free keys."""
    values = values or fields.Raw(allow_none=True)
    return fields.Dict(keys=fields.String(), values=values, **_kw(optional, False, **kw))


def ListOf(item: fields.Field | type[Schema], *, optional: bool = False, null: bool = False) -> fields.Field:
    child = fields.Nested(item) if isinstance(item, type) else item
    return fields.List(child, **_kw(optional, null))


def Null() -> fields.Field:
    """Always ``null`` here (Sentry has a value; this server has no source for it)."""
    return fields.Raw(required=True, metadata={"type": "null"})


class Body(Schema):
    class Meta:
        unknown = RAISE


def _strings() -> fields.Field:
    return fields.String()


# ---- errors ---------------------------------------------------------------------------------


class Detail(Body):
    """``{"detail": "<Sentry's message>"}``."""

    detail = Str()


class UploadError(Body):
    """The chunk upload and assemble routes' 400: ``{"error": "<Sentry's message>"}``."""

    error = Str()


# ---- operations -----------------------------------------------------------------------------


class Health(Body):
    status = Str(enum=["ok", "unavailable"])
    checks = Map(fields.String())


class ApiAuth(Body):
    scopes = ListOf(_strings())


class ApiRoot(Body):
    version = Str(enum=["0"])
    auth = Obj(ApiAuth, null=True)
    user = Null()


# ---- projects and keys ----------------------------------------------------------------------


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
    features = ListOf(_strings())
    firstEvent = Null()
    firstTransactionEvent = Bool()
    access = ListOf(_strings())


class OrganizationRef(Body):
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
    team = Null()
    teams = ListOf(fields.Raw())
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


class BrowserSdk(Body):
    choices = ListOf(fields.List(fields.String()))


class SdkLoaderOptions(Body):
    hasReplay = Bool()
    hasPerformance = Bool()
    hasDebug = Bool()


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


class MetricVisibility(Body):
    """``BlockedMetric.to_response``."""

    metricMri = Str()
    isBlocked = Bool()
    blockedTags = ListOf(_strings())


# ---- organizations --------------------------------------------------------------------------


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
_CONVERTED = {"sensitiveFields": ListOf(_strings()), "safeFields": ListOf(_strings())}


def _org_option_field(name: str, convert: Any, default: Any) -> fields.Field:
    """An ORG_OPTIONS row's field: its type, nullable when its default is ``None``."""
    if name in _CONVERTED:
        return _CONVERTED[name]
    optional, null = name in _FEATURE_GATED, default is None
    if convert is convert_crashreport_count:
        return Int()
    by_type = {bool: Bool, int: Int, float: Num, str: Str}
    if convert is list:
        return ListOf(_strings(), optional=optional, null=null)
    return by_type[convert](optional=optional, null=null)


OrganizationDetails = Body.from_dict(
    {
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
        "features": ListOf(_strings()),
        "isDefault": Bool(),
        "defaultRole": Str(enum=list(ROLES)),
        "availableRoles": ListOf(Role),
        "openMembership": Bool(),
        "allowSharedIssues": Bool(),
        "enhancedPrivacy": Bool(),
        "codecovAccess": Bool(),
        **{o.field: _org_option_field(o.field, o.convert, o.default) for o in ORG_OPTIONS},
        "trustedRelays": ListOf(TrustedRelay),
        "pendingAccessRequests": Int(),
        "access": ListOf(_strings()),
        "teams": ListOf(fields.Raw()),
        "projects": ListOf(ProjectSummary),
    },
    name="OrganizationDetails",
)
OrganizationDetails.__doc__ = (
    "``organization_render.organization_details`` (with the organization's projects)."
)


# ---- audit log ------------------------------------------------------------------------------


class AuditActor(Body):
    """``{"id", "name", "type"}`` for a token or relay; only ``name`` for the command line."""

    id = Str(optional=True)
    name = Str(null=True)
    type = Str(optional=True)


class AuditEntry(Body):
    id = Str()
    actor = Obj(AuditActor)
    event = Str()
    ipAddress = Str(null=True)
    note = Str()
    targetObject = Int(null=True)
    targetUser = Null()
    data = Map()
    dateCreated = Time()


class AuditLog(Body):
    rows = ListOf(AuditEntry)
    options = ListOf(_strings())


# ---- uploads --------------------------------------------------------------------------------

ASSEMBLE_STATES = ["not_found", "created", "assembling", "ok", "error"]


class ChunkUploadOptions(Body):
    url = Str()
    chunkSize = Int()
    chunksPerRequest = Int()
    maxFileSize = Int()
    maxRequestSize = Int()
    concurrency = Int()
    hashAlgorithm = Str(enum=["sha1"])
    compression = ListOf(_strings())
    accept = ListOf(_strings())


class DifData(Body):
    """Empty for a BCSymbolMap or UUID map (no object kind, no features)."""

    type = Str(optional=True)
    features = ListOf(_strings(), optional=True)


class DebugFile(Body):
    """``uploads.serialize_dif`` (Sentry's ``DebugFileSerializer``)."""

    id = Str()
    uuid = Str()
    debugId = Str()
    codeId = Str(null=True)
    cpuName = Str()
    objectName = Str()
    symbolType = Str()
    headers = Map(fields.String())
    size = Int()
    sha1 = Str()
    dateCreated = Time()
    data = Obj(DifData)


class AssembleState(Body):
    """One file's assembly: ``detail`` is absent while its chunks are missing."""

    state = Str(enum=ASSEMBLE_STATES)
    detail = Str(optional=True, null=True)
    missingChunks = ListOf(_strings())
    dif = Obj(DebugFile, optional=True)


# ---- relays ---------------------------------------------------------------------------------


class RelayChallenge(Body):
    relay_id = Str()
    token = Str()


class RelayRegistered(Body):
    relay_id = Str()


class RelayLive(Body):
    is_healthy = Bool()


class ProjectConfigs(Body):
    """``configs`` by public key (v2, v3) or project id (v1): the stored document, or
    ``{"disabled": true}``; ``pending``, ``unchanged``, ``global`` only when they apply."""

    configs = Map(Map())
    pending = ListOf(_strings(), optional=True)
    unchanged = ListOf(_strings(), optional=True)
    global_ = Map(optional=True, data_key="global")
    global_status = Str(optional=True, enum=["ready"])


# ---- releases, repositories, issues ---------------------------------------------------------


class Provider(Body):
    id = Str()
    name = Str()


class Repository(Body):
    """``release_render.render_repository`` (``RepositorySerializer``)."""

    id = Str()
    name = Str()
    url = Str(null=True)
    provider = Obj(Provider)
    status = Str()
    dateCreated = Time(null=True)
    integrationId = Null()
    externalSlug = Null()
    externalId = Null()


class Author(Body):
    name = Str(null=True)
    email = Str()


class Commit(Body):
    """``release_render.render_commit``: the repository is whole in a commit list, ``null`` in a
    release's ``lastCommit``."""

    id = Str()
    message = Str(null=True)
    dateCreated = Time(null=True)
    pullRequest = Null()
    suspectCommitType = Str()
    author = Obj(Author, null=True)
    repository = Obj(Repository, null=True)


class Deploy(Body):
    """``release_render.render_deploy``."""

    id = Str()
    environment = Str()
    dateStarted = Time(null=True)
    dateFinished = Time(null=True)
    name = Str(null=True)
    url = Str(null=True)


class ParsedVersion(Body):
    """Relay's ``parse_release``: the parsed parts only when the version is semver-like."""

    raw = Str()
    major = Int(optional=True)
    minor = Int(optional=True)
    patch = Int(optional=True)
    revision = Int(optional=True)
    pre = Str(optional=True, null=True)
    buildCode = Str(optional=True, null=True)
    components = Int(optional=True)


class VersionInfo(Body):
    package = Str(null=True)
    version = Obj(ParsedVersion)
    description = Str(null=True)
    buildHash = Str(null=True)


class ReleaseProject(Body):
    id = Int()
    slug = Str()
    name = Str()
    newGroups = Int()
    platform = Str(null=True)
    platforms = ListOf(_strings())
    hasHealthData = Bool()


class Empty(Body):
    """``{}``."""


class Release(Body):
    """``release_render.render_release``."""

    id = Int()
    version = Str()
    status = Str()
    shortVersion = Str()
    versionInfo = Obj(VersionInfo, null=True)
    ref = Str(null=True)
    url = Str(null=True)
    dateReleased = Time(null=True)
    dateCreated = Time()
    data = Obj(Empty)
    newGroups = Int()
    owner = Null()
    commitCount = Int()
    lastCommit = Obj(Commit, null=True)
    deployCount = Int()
    lastDeploy = Obj(Deploy, null=True)
    authors = ListOf(Author)
    projects = ListOf(ReleaseProject)
    firstEvent = Null()
    lastEvent = Null()
    currentProjectMeta = Obj(Empty)
    userAgent = Str(null=True)


class IssueProject(Body):
    id = Str()
    slug = Str()
    name = Str()


class IssueCreated(Body):
    id = Str()
    shortId = Str()
    title = Str()
    status = Str(enum=["unresolved"])
    project = Obj(IssueProject)


class StatusDetails(Body):
    inRelease = Str(optional=True)


class Inbox(Body):
    reason = Int()
    reason_details = Null()
    date_added = Str()


class Issue(Body):
    id = Str()
    shortId = Str()
    title = Str()
    culprit = Str(null=True)
    status = Str()
    statusDetails = Obj(StatusDetails)
    inbox = Obj(Inbox, null=True)
    firstSeen = Str()
    project = Obj(IssueProject)


class Activity(Body):
    id = Str()
    type = Str()
    data = Map()
    dateCreated = Str()


class IssueActivity(Body):
    activity = ListOf(Activity)


class HistoryRow(Body):
    id = Str()
    status = Str()
    statusId = Int()
    release = Str(null=True)
    dateAdded = Str()
