"""Request validation of the release endpoints: Sentry's ``ReleaseSerializer`` family
(sentry-behaviour 4.3) with DRF's messages. Commit lists are checked by hand: ten thousand
commits through marshmallow's nested schemas would dominate the request.

Then the bodies the release, repository and deploy routes answer (``release_render``), and
their query parameters, for the OpenAPI document."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from api import drf
from api.response_fields import Any_, Body, Bool, Int, ListOf, Null, Obj, Str, Time, strings
from commands.environments import ENVIRONMENT_NAME_PATTERN, INVALID_ENVIRONMENT
from commands.releases import MAX_VERSION_LENGTH, STATUSES, is_valid_version

DATETIME_INVALID = (
    "Datetime has wrong format. Use one of these formats instead: "
    "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
)
REQUIRED = "This field is required."
NULL = "This field may not be null."
PATCH_TYPES = ("A", "D", "M")
URL_SCHEMES = {"http", "https", "ftp", "ftps"}
NULLABLE_STRING = {"type": ["string", "null"]}
COMMIT = {  # one commit of a ``commits`` list, as ``_commit`` accepts it
    "type": "object",
    "required": ["id"],
    "properties": {
        "id": {"type": "string", "minLength": 1, "maxLength": 64},
        "repository": {**NULLABLE_STRING, "maxLength": 64},
        "message": NULLABLE_STRING,
        "author_name": {**NULLABLE_STRING, "maxLength": 128},
        "author_email": {**NULLABLE_STRING, "maxLength": 75},
        "timestamp": {**NULLABLE_STRING, "format": "date-time"},
        "patch_set": {
            "type": ["array", "null"],
            "items": {
                "type": "object",
                "required": ["path", "type"],
                "properties": {
                    "path": {"type": "string", "minLength": 1, "maxLength": 510},
                    "type": {"type": "string", "enum": ["A", "D", "M"]},
                },
            },
        },
    },
}


def parse_datetime(value: Any) -> str:
    """An ISO 8601 date-time (up to nanoseconds, as sentry-cli sends) as UTC ISO text;
    without an offset it is taken as UTC."""
    if not isinstance(value, str) or len(value) > 64:
        raise ValidationError(DATETIME_INVALID)
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(DATETIME_INVALID) from None
    if parsed.tzinfo is UTC and _is_utc_iso(text, parsed):
        return text if text[-1] != "Z" else text[:-1] + "+00:00"  # ``isoformat()``'s text
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC).isoformat()
    except OverflowError:  # an offset that moves it out of years 1-9999
        raise ValidationError(DATETIME_INVALID) from None


def _is_utc_iso(text: str, parsed: datetime) -> bool:
    """Whether ``text``, which parsed as ``parsed`` in UTC, is already what ``isoformat()``
    writes for it (``YYYY-MM-DDThh:mm:ss[.ffffff]`` then ``+00:00`` or ``Z``; no fraction of
    zero): as sentry-cli sends timestamps. Formatting a datetime costs several times parsing
    it, 10,000 times per commit list."""
    size = len(text) + 5 if text[-1] == "Z" else len(text)  # with "+00:00" for "Z"
    return (
        (size == 25 or (size == 32 and text[19] == "." and parsed.microsecond != 0))
        and text[4] == "-"
        and text[7] == "-"
        and text[10] == "T"
        and text[13] == ":"
        and text[16] == ":"
        and text.endswith(("+00:00", "Z"))
        and text.isascii()
    )


class DateTime(fields.Field):
    OPENAPI: ClassVar[dict[str, Any]] = {"type": "string", "format": "date-time"}

    def __init__(self, allow_none: bool = True, **kwargs: Any) -> None:
        super().__init__(allow_none=allow_none, error_messages={"null": NULL}, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        return parse_datetime(value)


class Url(drf.String):
    OPENAPI: ClassVar[dict[str, Any]] = {"format": "uri"}

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if text:
            try:
                validate.URL(schemes=URL_SCHEMES)(text)
            except ValidationError:
                raise ValidationError("Enter a valid URL.") from None
        return text


class Status(fields.Field):
    """``ReleaseStatus.from_string``."""

    OPENAPI: ClassVar[dict[str, Any]] = {"type": "string", "enum": sorted(STATUSES)}

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        if value not in STATUSES:
            raise ValidationError(f"Invalid status {value}")
        return str(value)


class Version(drf.String):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=MAX_VERSION_LENGTH, trim=False, required=True, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        version = super()._deserialize(value, attr, data, **kwargs)
        if not is_valid_version(version):
            raise ValidationError(f"Release with name {version} is not allowed")
        return version


_COMMIT_FIELDS = ("id", "repository", "message", "author_name", "author_email", "timestamp")
_COMMIT_KEYS = frozenset((*_COMMIT_FIELDS, "patch_set"))
_COMMIT_TEXTS = (("repository", 64), ("author_name", 128), ("author_email", 75))  # nullable CharFields


def _text(value: Any, max_length: int) -> tuple[Any, list[str] | None]:
    """A nullable, optional CharField of a commit (not None): its value and its errors."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return value, ["Not a valid string."]
    value = str(value).strip()
    if len(value) > max_length:
        return value, [f"Ensure this field has no more than {max_length} characters."]
    return value or None, None


def _patch_item(item: Any) -> dict[str, Any] | None:
    """A file change as it usually comes (``{"path": "...", "type": "M"}``), or None to have
    ``_patch_set`` check it."""
    if type(item) is dict:
        path, kind = item.get("path"), item.get("type")
        if type(path) is str and 0 < len(path) <= 510 and type(kind) is str and kind in PATCH_TYPES:
            return {"path": path, "type": kind}
    return None


def _patch_set(value: Any) -> tuple[list[dict[str, Any]], Any]:
    if not isinstance(value, list):
        return [], [f'Expected a list of items but got type "{type(value).__name__}".']
    items = []
    for item in value:  # the first bad item's errors, not keyed by index (Sentry's ListField)
        usual = _patch_item(item)
        if usual is not None:
            items.append(usual)
            continue
        if item is None:
            return [], [NULL]
        if not isinstance(item, dict):
            return [], {
                "non_field_errors": [f"Invalid data. Expected a dictionary, but got {type(item).__name__}."]
            }
        path, kind = item.get("path"), item.get("type")
        problems: dict[str, list[str]] = {}
        if not isinstance(path, str) or not path:
            problems["path"] = [REQUIRED if path is None else "This field may not be blank."]
        elif len(path) > 510:
            problems["path"] = ["Ensure this field has no more than 510 characters."]
        if not isinstance(kind, str) or not kind:
            problems["type"] = [REQUIRED if kind is None else "This field may not be blank."]
        elif len(kind) > 1:
            problems["type"] = ["Ensure this field has no more than 1 characters."]
        elif kind not in PATCH_TYPES:
            problems["type"] = [f"Commit patch_set type {kind} is not supported."]
        if problems:
            return [], problems
        items.append({"path": path, "type": kind})
    return items, None


def _commit(raw: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """``CommitSerializer``: ``id`` required (64), the rest optional and nullable."""
    if not isinstance(raw, dict):
        return {}, {
            "non_field_errors": [f"Invalid data. Expected a dictionary, but got {type(raw).__name__}."]
        }
    if raw.keys() <= _COMMIT_KEYS:  # the usual case: no other keys to leave out
        data = raw.copy()
        data.pop("patch_set", None)
    else:
        data = {k: raw[k] for k in _COMMIT_FIELDS if k in raw}
    errors: dict[str, Any] = {}
    commit_id = raw.get("id")
    text = str(commit_id).strip() if isinstance(commit_id, str | int) else ""
    if commit_id is None:
        errors["id"] = [REQUIRED if "id" not in raw else NULL]
    elif isinstance(commit_id, bool) or not text:
        errors["id"] = ["This field may not be blank." if commit_id == "" else "Not a valid string."]
    elif len(text) > 64:
        errors["id"] = ["Ensure this field has no more than 64 characters."]
    else:
        data["id"] = text
    for name, max_length in _COMMIT_TEXTS:
        value = data.get(name)
        if value is None:
            continue
        if type(value) is str and len(value) <= max_length:  # the usual case: ``_text``'s result
            data[name] = value.strip() or None
            continue
        data[name], problem = _text(value, max_length)
        if problem:
            errors[name] = problem
    message = raw.get("message")
    if message is not None and not isinstance(message, str):
        errors["message"] = ["Not a valid string."]
    timestamp = raw.get("timestamp")
    if timestamp is not None:
        try:
            data["timestamp"] = parse_datetime(timestamp)
        except ValidationError as exc:
            errors["timestamp"] = exc.messages
    patches = raw.get("patch_set")
    if patches is not None:
        data["patch_set"], patch_errors = _patch_set(patches)
        if patch_errors:
            errors["patch_set"] = patch_errors
    return data, errors


class Commits(fields.Field):
    """``ListField(child=CommitSerializer())``: the first bad commit's errors, not keyed by its
    index (``{"commits": {"id": [...]}}``), as Sentry answers (its ListField tests say so)."""

    OPENAPI: ClassVar[dict[str, Any]] = {"type": "array", "items": COMMIT}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_none=False, error_messages={"null": NULL}, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> list[dict[str, Any]]:
        if not isinstance(value, list):
            raise ValidationError(f'Expected a list of items but got type "{type(value).__name__}".')
        commits = []
        for raw in value:
            if raw is None:
                raise ValidationError(NULL)
            commit, problems = _commit(raw)
            if problems:
                raise ValidationError(problems)
            commits.append(commit)
        return commits


def _ref_commit(value: str) -> None:
    if ".." in value:
        parts = value.split("..")
        if len(parts) != 2 or not parts[0] or not parts[1]:
            raise ValidationError("Commit cannot begin or end with ..")
        if any(len(p) > 64 for p in parts):
            raise ValidationError("Start or end commit too long - max is 64 chars each")
    elif len(value) > 64:
        raise ValidationError("Commit too long - max is 64 chars")


class RefSchema(Schema):
    """``ReleaseHeadCommitSerializer``."""

    class Meta:
        unknown = EXCLUDE

    commit = drf.String(required=True, validate=_ref_commit)
    repository = drf.String(required=True, max_length=200)
    previousCommit = drf.String(max_length=64, allow_none=True, allow_blank=True, load_default=None)


class HeadCommitSchema(Schema):
    """``ReleaseHeadCommitSerializerDeprecated`` (``headCommits``)."""

    class Meta:
        unknown = EXCLUDE

    currentId = drf.String(required=True, max_length=64)
    repository = drf.String(required=True, max_length=64)
    previousId = drf.String(max_length=64, allow_none=True, allow_blank=True, load_default=None)


class FirstErrorList(drf.List):
    """Sentry's ``ListField`` of serializers: the first bad item's errors, not keyed by its
    index (``{"refs": {"commit": [...]}}``), as for ``commits``."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> list[Any]:
        try:
            return super()._deserialize(value, attr, data, **kwargs)
        except ValidationError as exc:
            if not isinstance(exc.messages, dict) or not all(isinstance(k, int) for k in exc.messages):
                raise
            first = min(exc.messages)
            item = value[first]
            if item is None:
                raise ValidationError(NULL) from None
            if not isinstance(item, dict):
                expected = f"Invalid data. Expected a dictionary, but got {type(item).__name__}."
                raise ValidationError({"non_field_errors": [expected]}) from None
            raise ValidationError(exc.messages[first]) from None


class ReleaseSchema(Schema):
    """``ReleaseSerializer`` (PUT details)."""

    class Meta:
        unknown = EXCLUDE

    ref = drf.String(max_length=200, allow_none=True, allow_blank=True)
    url = Url(allow_none=True, allow_blank=True)
    dateReleased = DateTime()
    commits = Commits()
    status = Status()
    refs = FirstErrorList(fields.Nested(RefSchema))
    headCommits = FirstErrorList(fields.Nested(HeadCommitSchema))


class ProjectReleaseUpdateSchema(ReleaseSchema):
    """``ReleaseSerializer`` of the project-level details PUT: no ``refs`` or ``headCommits``
    (those belong to the organization-level serializer)."""

    class Meta:
        unknown = EXCLUDE
        exclude = ("refs", "headCommits")


class OwnerField(fields.Field):
    """``UserField``: eventry has no user accounts, so no owner can be a member."""

    OPENAPI: ClassVar[dict[str, Any]] = {
        "description": "no owner can be set here (no user accounts): any value is refused"
    }

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> None:
        raise ValidationError("User does not have access to this organization")


class ProjectReleaseSchema(ReleaseSchema):
    """``ReleaseWithVersionSerializer`` (project-level POST)."""

    version = Version()
    owner = OwnerField(allow_none=True)


class OrganizationReleaseSchema(ProjectReleaseSchema):
    """``ReleaseSerializerWithProjects`` (organization-level POST)."""

    projects = drf.List(fields.Raw(), required=True)


class DeploySchema(Schema):
    """``DeploySerializer`` (sentry-behaviour 4.10)."""

    class Meta:
        unknown = EXCLUDE

    name = drf.String(max_length=64, allow_none=True, allow_blank=True)
    environment = drf.String(
        required=True,
        max_length=64,
        validate=validate.Regexp(ENVIRONMENT_NAME_PATTERN, error=INVALID_ENVIRONMENT),
    )
    url = Url(allow_none=True, allow_blank=True)
    dateStarted = DateTime()
    dateFinished = DateTime()
    # ``ListField(child=ProjectField(id_allowed=True), allow_empty=False)``: slugs or ids, the
    # route finds them (an unknown one: ``{"projects": ["Invalid project"]}``).
    projects = drf.List(fields.Raw(), validate=validate.Length(min=1, error="This list may not be empty."))


class RepositorySchema(Schema):
    """``POST /organizations/{org}/repos/`` for the local git provider."""

    class Meta:
        unknown = EXCLUDE

    provider = drf.String(
        required=True, validate=validate.OneOf(["git"], error='"{input}" is not a valid choice.')
    )
    name = drf.String(required=True, max_length=200)
    url = drf.String(required=True, max_length=500)


# ---- responses (``release_render``) and query parameters ----------------------------------


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
    platforms = ListOf(strings())
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
    adoptionStages = Any_(
        optional=True,
        description="with adoptionStages=1: project slug -> {stage, adopted, unadopted} (null: no deploys)",
    )


class ReleaseStat(Body):
    """One row of ``GET /organizations/{org}/releases/stats/``."""

    version = Str()
    date = Time()


SESSION_SORTS = ("crash_free_sessions", "crash_free_users", "sessions", "users", "sessions_24h", "users_24h")
PAGE = [
    {
        "in": "query",
        "name": "per_page",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": 100},
    },
    {"in": "query", "name": "cursor", "required": False, "schema": {"type": "string"}},
]
QUERY = [{"in": "query", "name": "query", "required": False, "schema": {"type": "string"}}]
RELEASE_SORTS = ("date", "semver", "build", "adoption", *SESSION_SORTS)
DATE_RANGE = [
    {"in": "query", "name": name, "required": False, "schema": {"type": "string"}}
    for name in ("start", "end", "statsPeriod")
]
PROJECT_PARAMETER = {
    "in": "query",
    "name": "project",
    "required": False,
    "schema": {"type": "array", "items": {"type": "integer"}},
    "style": "form",
    "explode": True,
}
RELEASE_LIST_QUERY = [
    *PAGE,
    *QUERY,
    {
        "in": "query",
        "name": "status",
        "required": False,
        "schema": {"type": "string", "enum": ["open", "archived", ""]},
    },
    {
        "in": "query",
        "name": "sort",
        "required": False,
        "schema": {"type": "string", "enum": list(RELEASE_SORTS)},
    },
    {"in": "query", "name": "flatten", "required": False, "schema": {"type": "string"}},
    {"in": "query", "name": "adoptionStages", "required": False, "schema": {"type": "string"}},
    *DATE_RANGE,
    PROJECT_PARAMETER,
]
RELEASE_STATS_QUERY = [*PAGE, *QUERY, *DATE_RANGE, PROJECT_PARAMETER]
REPO_LIST_QUERY = [
    *PAGE,
    *QUERY,
    {
        "in": "query",
        "name": "status",
        "required": False,
        "schema": {
            "type": "string",
            "enum": ["active", "disabled", "hidden", "pending_deletion", "deletion_in_progress", ""],
        },
    },
]
