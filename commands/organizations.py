"""Organizations, their projects' creation and their API tokens."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Self
from uuid import UUID

from commands.base import (
    Change,
    Command,
    Conflict,
    Decision,
    IdCollision,
    InvalidCommand,
    NotFound,
    State,
    handles,
)
from commands.org_options import DEFAULT_ROLE, FLAG_DEFAULTS
from commands.platforms import is_valid_platform
from commands.project_keys import DEFAULT_KEY_LABEL, NewKey, Reservation, new_key_changes, reservation_reads
from commands.projects import ProjectState
from commands.slugs import (
    MIXED_SLUG_PATTERN,
    ORG_SLUG_PATTERN,
    PROJECT_SLUG_MAX_LENGTH,
    RESERVED_ORGANIZATION_SLUGS,
    unique_slug,
)
from events import Event, streams
from events.organizations import (
    ORG_TOKEN,
    USER_TOKEN,
    ApiTokenCreated,
    ApiTokenIdAllocated,
    ApiTokenRenamed,
    ApiTokenRevoked,
    OrganizationCreated,
    OrganizationEdited,
    OrganizationRemoved,
    OrganizationRestored,
    OrganizationSlugReleased,
    OrganizationSlugReserved,
    ProjectSlugReleased,
    ProjectSlugReserved,
)
from events.projects import ProjectCreated

ACTIVE, PENDING_DELETION = "active", "pending_deletion"  # Sentry's OrganizationStatus names

__all__ = ["IdCollision"]  # re-exported: the dispatcher's retry catches it from here

SCOPES = (
    "org:read", "org:write", "org:admin", "org:integrations", "org:ci",
    "project:read", "project:write", "project:admin", "project:releases",
    "team:read", "team:write", "team:admin",
    "member:read", "member:write", "member:admin",
    "event:read", "event:write", "event:admin",
    "alerts:read", "alerts:write",
)  # fmt: skip
# Not one of Sentry's: lets a token operate eventry itself (the console's rebuild and retry).
# No API route can grant it: CreateApiToken refuses it among ``scopes`` and adds it only for
# ``operator=True``, which only ``eventry tokens create --operator`` sets. A rotation keeps it.
OPERATOR_SCOPE = "eventry:operator"


@dataclass(frozen=True)
class OrganizationRegistry(State):
    slugs: dict[str, int] = field(default_factory=dict)  # slug -> organization id

    def evolve(self, event: Event) -> Self:
        if isinstance(event, OrganizationSlugReserved):
            return replace(self, slugs={**self.slugs, event.slug.lower(): event.organization_id})
        if isinstance(event, OrganizationSlugReleased):
            return replace(self, slugs={k: v for k, v in self.slugs.items() if k != event.slug.lower()})
        return self


@dataclass(frozen=True)
class OrganizationState(State):
    organization_id: int | None = None
    slug: str = ""
    name: str = ""
    project_slugs: dict[str, int] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)  # stored options only (None is stored)
    flags: dict[str, bool] = field(default_factory=lambda: dict(FLAG_DEFAULTS))
    default_role: str = DEFAULT_ROLE
    status: str = ACTIVE

    @property
    def exists(self) -> bool:
        return self.organization_id is not None

    def evolve(self, event: Event) -> Self:
        if isinstance(event, OrganizationCreated):
            return replace(self, organization_id=event.organization_id, slug=event.slug, name=event.name)
        if isinstance(event, OrganizationEdited):
            options = {k: v for k, v in self.options.items() if k not in event.removed_options}
            return replace(
                self,
                slug=event.slug,
                name=event.name,
                options={**options, **event.options},
                flags={**self.flags, **event.flags},
                default_role=event.default_role,
            )
        if isinstance(event, OrganizationRemoved):
            return replace(self, status=PENDING_DELETION)
        if isinstance(event, OrganizationRestored):
            return replace(self, status=ACTIVE)
        if isinstance(event, ProjectSlugReserved):
            return replace(self, project_slugs={**self.project_slugs, event.slug.lower(): event.project_id})
        if isinstance(event, ProjectSlugReleased):
            slugs = {k: v for k, v in self.project_slugs.items() if k != event.slug.lower()}
            return replace(self, project_slugs=slugs)
        return self


@dataclass(frozen=True)
class TokenRegistry(State):
    allocated: int = 0

    def evolve(self, event: Event) -> Self:
        if isinstance(event, ApiTokenIdAllocated):
            return replace(self, allocated=max(self.allocated, event.token_id))
        return self


@dataclass(frozen=True)
class _ProjectExistence(State):
    created: bool = False

    def evolve(self, event: Event) -> Self:
        return replace(self, created=True) if isinstance(event, ProjectCreated) else self


@dataclass(frozen=True)
class CreateOrganization(Command):
    organization_id: int
    slug: str
    name: str


ORG_SLUG_INVALID = (
    "Enter a valid slug consisting of letters, numbers, or hyphens. "
    "It cannot be entirely numeric or start/end with a hyphen."
)
PROJECT_SLUG_INVALID = (
    "Enter a valid slug consisting of lowercase letters, numbers, underscores or hyphens. "
    "It cannot be entirely numeric."
)


def organization_slug_errors(raw: str, taken: Callable[[str], bool] = lambda slug: False) -> list[str]:
    """Sentry's org slug field, in its order: the field's validators (all reported), then
    ``validate_slug`` (first failure). ``raw`` is the slug as sent; the field strips it."""
    value = raw.strip()
    if not value:
        return ["This field may not be blank."]
    errors = []
    if len(value) > 50:
        errors.append("Ensure this field has no more than 50 characters.")
    if not ORG_SLUG_PATTERN.match(value):
        errors.append(ORG_SLUG_INVALID)
    if errors:
        return errors
    if len(value) < 3:
        return [f'This slug "{value}" is too short. Minimum of 3 characters.']
    if value.lower() in RESERVED_ORGANIZATION_SLUGS:
        return [f'This slug "{value}" is reserved and not allowed.']
    if taken(value.lower()):
        return [f'The slug "{value}" is already in use.']
    if any(ch.isspace() for ch in raw):
        return [f'The slug "{value}" should not contain any whitespace.']
    return []


def validate_organization_slug(slug: str) -> None:
    errors = organization_slug_errors(slug)
    if errors:
        raise InvalidCommand(errors[0])


@handles(
    CreateOrganization,
    reads=lambda c: {
        "registry": (streams.ORGANIZATION_REGISTRY, OrganizationRegistry),
        "organization": (streams.organization(c.organization_id), OrganizationState),
    },
)
def create_organization(
    cmd: CreateOrganization,
    now: datetime,
    registry: OrganizationRegistry,
    organization: OrganizationState,
) -> Decision:
    validate_organization_slug(cmd.slug)
    if cmd.slug.lower() in registry.slugs:
        raise Conflict(f'The slug "{cmd.slug}" is already in use.')
    if organization.exists:
        raise IdCollision("Max allowed ID retry reached. Please try again in a second")
    slug = cmd.slug.lower()
    name = cmd.name.strip() or slug
    return Decision(
        changes=(
            Change(streams.ORGANIZATION_REGISTRY, OrganizationSlugReserved(cmd.organization_id, slug)),
            Change(
                streams.organization(cmd.organization_id),
                OrganizationCreated(cmd.organization_id, slug, name),
            ),
        ),
        result={"id": cmd.organization_id, "slug": slug, "name": name},
    )


@dataclass(frozen=True)
class CreateProject(Command):
    """``slug``: an explicit slug (else one is derived from the name, as ``slugify_instance``
    does, from the random ``slug_suffixes``/``fallback_slug`` drawn by the caller).
    ``default_key``: the key Sentry creates with every project."""

    organization_id: int
    project_id: int
    name: str
    platform: str | None
    slug_suffixes: tuple[str, ...]
    fallback_slug: str
    slug: str | None = None
    default_key: NewKey | None = None


def _create_project_reads(c: CreateProject) -> dict[str, tuple[Any, type[State]]]:
    reads: dict[str, tuple[Any, type[State]]] = {
        "organization": (streams.organization(c.organization_id), OrganizationState),
        "existing": (streams.project(c.project_id), _ProjectExistence),
    }
    return {**reads, **reservation_reads(c.default_key)} if c.default_key else reads


def _project_slug(cmd: CreateProject, organization: OrganizationState) -> str:
    taken = organization.project_slugs
    if cmd.slug is not None:
        if len(cmd.slug) > PROJECT_SLUG_MAX_LENGTH or not MIXED_SLUG_PATTERN.match(cmd.slug):
            raise InvalidCommand(PROJECT_SLUG_INVALID)
        if cmd.slug.lower() in taken:
            raise Conflict("A project with this slug already exists.")
        return cmd.slug
    slug = unique_slug(cmd.name.strip(), lambda s: s.lower() in taken, cmd.slug_suffixes, cmd.fallback_slug)
    if slug is None:
        raise Conflict("Unable to find a free slug for this project name")
    return slug


@handles(CreateProject, reads=_create_project_reads)
def create_project(
    cmd: CreateProject,
    now: datetime,
    organization: OrganizationState,
    existing: _ProjectExistence,
    key_id_reservation: Reservation | None = None,
    public_key_reservation: Reservation | None = None,
) -> Decision:
    if not organization.exists:
        raise NotFound("The requested resource does not exist")
    name = cmd.name.strip()
    if not name:
        raise InvalidCommand("This field may not be blank.")
    if len(name) > 200:
        raise InvalidCommand("Ensure this field has no more than 200 characters.")
    if not is_valid_platform(cmd.platform):
        raise InvalidCommand("Invalid platform")
    if existing.created:
        # A snowflake id collision: the dispatcher draws a new id and retries, as Sentry does.
        raise IdCollision("Max allowed ID retry reached. Please try again in a second")
    slug = _project_slug(cmd, organization)
    org_id = cmd.organization_id
    created = ProjectCreated(cmd.project_id, org_id, slug, name, cmd.platform)
    changes: tuple[Change, ...] = (
        Change(streams.organization(org_id), ProjectSlugReserved(org_id, cmd.project_id, slug)),
        Change(streams.project(cmd.project_id), created),
    )
    if cmd.default_key is not None:
        assert key_id_reservation is not None and public_key_reservation is not None
        key_changes, _ = new_key_changes(
            ProjectState.fold([created]),
            cmd.default_key,
            DEFAULT_KEY_LABEL,
            (None, None),
            key_id_reservation,
            public_key_reservation,
            now,
            automatic=True,
        )
        changes = (*changes, *key_changes)
    return Decision(
        changes=changes,
        result={
            "id": cmd.project_id,
            "slug": slug,
            "name": name,
            "platform": cmd.platform,
            "date_created": now.isoformat(),
        },
    )


@dataclass(frozen=True)
class CreateApiToken(Command):
    """``expires_in``: seconds from now until the token stops authenticating (None: never)."""

    organization_id: int
    token_hash: str
    token_last_characters: str
    label: str
    scopes: tuple[str, ...]
    kind: str = USER_TOKEN
    expires_in: int | None = None
    operator: bool = False  # adds OPERATOR_SCOPE; set by the command line only


TOKEN_NAME_BLANK = "The name cannot be blank."
TOKEN_NAME_TOO_LONG = "The name cannot be longer than 255 characters."
MAX_TOKEN_NAME = 255  # Sentry's OrgAuthToken MAX_NAME_LENGTH
MAX_EXPIRES_IN = 100 * 366 * 86400  # a century: any later is "never", said plainly
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


def check_token_name(label: str) -> None:
    if not label:  # as Sentry: only the empty name is blank
        raise InvalidCommand(TOKEN_NAME_BLANK)
    if len(label) > MAX_TOKEN_NAME:
        raise InvalidCommand(TOKEN_NAME_TOO_LONG)


def token_expiry(now: datetime, expires_in: int | None) -> str | None:
    """When a token made now stops authenticating; a refusal for a duration out of range."""
    if expires_in is None:
        return None
    if not 0 < expires_in <= MAX_EXPIRES_IN:
        raise InvalidCommand(f"The expiry must be between 1 second and {MAX_EXPIRES_IN // 86400} days")
    return (now + timedelta(seconds=expires_in)).isoformat()


@dataclass(frozen=True)
class NewToken:
    """A token about to be stored: its secret's hash and the rest of what it is."""

    organization_id: int
    token_hash: str
    token_last_characters: str
    label: str
    scopes: tuple[str, ...]
    kind: str
    expires_at: str | None


def new_token_reads(organization_id: int, token_hash: str) -> dict[str, tuple[UUID, type[State]]]:
    """What storing a new token reads: the id registry, its organization, its (empty) stream."""
    return {
        "registry": (streams.TOKEN_REGISTRY, TokenRegistry),
        "organization": (streams.organization(organization_id), OrganizationState),
        "successor": (streams.api_token(token_hash), TokenState),
    }


def new_token_changes(
    registry: TokenRegistry, organization: OrganizationState, successor: TokenState, token: NewToken
) -> tuple[ApiTokenCreated, tuple[Change, ...]]:
    """The token as stored under the next id, and the changes that store it (validated here: an
    accepted token is in the log forever). ``successor`` is its stream so far: empty."""
    if not organization.exists:
        raise NotFound("The requested resource does not exist")
    if successor.token_id is not None:  # the same secret twice: never two tokens on one stream
        raise Conflict("A token with this secret exists already")
    if token.kind not in (USER_TOKEN, ORG_TOKEN):
        raise InvalidCommand(f"Unknown token kind: {token.kind}")
    if not SHA256_HEX.match(token.token_hash) or len(token.token_last_characters) != 4:
        raise InvalidCommand("A token is stored as the SHA-256 of its secret and its last 4 characters")
    check_token_name(token.label)
    unknown = sorted(set(token.scopes) - {*SCOPES, OPERATOR_SCOPE})
    if unknown:
        raise InvalidCommand(f"Invalid scopes: {', '.join(unknown)}")
    if not token.scopes:
        raise InvalidCommand("A token needs at least one scope")
    token_id = registry.allocated + 1
    created = ApiTokenCreated(
        token_id,
        token.organization_id,
        token.token_hash,
        token.token_last_characters,
        token.label,
        tuple(s for s in (*SCOPES, OPERATOR_SCOPE) if s in token.scopes),
        token.kind,
        token.expires_at,
    )
    return created, (
        Change(streams.TOKEN_REGISTRY, ApiTokenIdAllocated(token_id)),
        Change(streams.api_token(token.token_hash), created),
    )


@handles(CreateApiToken, reads=lambda c: new_token_reads(c.organization_id, c.token_hash))
def create_api_token(
    cmd: CreateApiToken,
    now: datetime,
    registry: TokenRegistry,
    organization: OrganizationState,
    successor: TokenState,
) -> Decision:
    if OPERATOR_SCOPE in cmd.scopes:  # only ``operator`` grants it
        raise InvalidCommand(f"Invalid scopes: {OPERATOR_SCOPE}")
    token = NewToken(
        cmd.organization_id,
        cmd.token_hash,
        cmd.token_last_characters,
        cmd.label,
        cmd.scopes + ((OPERATOR_SCOPE,) if cmd.operator else ()),
        cmd.kind,
        token_expiry(now, cmd.expires_in),
    )
    created, changes = new_token_changes(registry, organization, successor, token)
    return Decision(changes=changes, result=token_result(created, now))


def token_result(created: ApiTokenCreated, now: datetime) -> dict[str, Any]:
    """What creating (or rotating to) a token answers; the secret is added by the caller."""
    return {
        "id": created.token_id,
        "name": created.label,
        "kind": created.kind,
        "scopes": list(created.scopes),
        "tokenLastCharacters": created.token_last_characters,
        "dateCreated": now.isoformat(),
        "expiresAt": created.expires_at,
    }


@dataclass(frozen=True)
class TokenState(State):
    token_id: int | None = None
    organization_id: int | None = None
    label: str = ""
    scopes: tuple[str, ...] = ()
    kind: str = USER_TOKEN
    expires_at: str | None = None
    revoked: bool = False

    def evolve(self, event: Event) -> Self:
        if isinstance(event, ApiTokenCreated):
            return replace(
                self,
                token_id=event.token_id,
                organization_id=event.organization_id,
                label=event.label,
                scopes=event.scopes,
                kind=event.kind,
                expires_at=event.expires_at,
            )
        if isinstance(event, ApiTokenRenamed):
            return replace(self, label=event.label)
        if isinstance(event, ApiTokenRevoked):
            return replace(self, revoked=True)
        return self
