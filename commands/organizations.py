"""Organizations, their projects' creation and their API tokens."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Self

from commands.base import (
    Change,
    Command,
    Conflict,
    Decision,
    InvalidCommand,
    NotFound,
    State,
    handles,
)
from commands.slugs import (
    ORG_SLUG_PATTERN,
    RESERVED_ORGANIZATION_SLUGS,
    unique_slug,
)
from events import Event, streams
from events.organizations import (
    ApiTokenCreated,
    ApiTokenIdAllocated,
    OrganizationCreated,
    OrganizationSlugReserved,
    ProjectSlugReserved,
)
from events.projects import ProjectCreated

SCOPES = (
    "org:read", "org:write", "org:admin", "org:integrations",
    "project:read", "project:write", "project:admin", "project:releases",
    "team:read", "team:write", "team:admin",
    "member:read", "member:write", "member:admin",
    "event:read", "event:write", "event:admin",
    "alerts:read", "alerts:write",
)  # fmt: skip


@dataclass(frozen=True)
class OrganizationRegistry(State):
    slugs: frozenset[str] = frozenset()

    def evolve(self, event: Event) -> Self:
        if isinstance(event, OrganizationSlugReserved):
            return replace(self, slugs=self.slugs | {event.slug.lower()})
        return self


@dataclass(frozen=True)
class OrganizationState(State):
    organization_id: int | None = None
    slug: str = ""
    name: str = ""
    project_slugs: dict[str, int] = field(default_factory=dict)

    @property
    def exists(self) -> bool:
        return self.organization_id is not None

    def evolve(self, event: Event) -> Self:
        if isinstance(event, OrganizationCreated):
            return replace(self, organization_id=event.organization_id, slug=event.slug, name=event.name)
        if isinstance(event, ProjectSlugReserved):
            return replace(self, project_slugs={**self.project_slugs, event.slug.lower(): event.project_id})
        return self


@dataclass(frozen=True)
class TokenRegistry(State):
    allocated: int = 0

    def evolve(self, event: Event) -> Self:
        if isinstance(event, ApiTokenIdAllocated):
            return replace(self, allocated=max(self.allocated, event.token_id))
        return self


class IdCollision(Conflict):
    """The freshly drawn id is already used; retried with a new id, 409 when retries run out."""


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


def validate_organization_slug(slug: str) -> None:
    if any(ch.isspace() for ch in slug):
        raise InvalidCommand(f'The slug "{slug}" should not contain any whitespace.')
    if len(slug) > 50 or not ORG_SLUG_PATTERN.match(slug):
        raise InvalidCommand(
            "Enter a valid slug consisting of letters, numbers, or hyphens. "
            "It cannot be entirely numeric or start/end with a hyphen."
        )
    if len(slug) < 3:
        raise InvalidCommand(f'This slug "{slug}" is too short. Minimum of 3 characters.')
    if slug.lower() in RESERVED_ORGANIZATION_SLUGS:
        raise InvalidCommand(f'This slug "{slug}" is reserved and not allowed.')


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
    organization_id: int
    project_id: int
    name: str
    platform: str | None
    slug_suffixes: tuple[str, ...]
    fallback_slug: str


@handles(
    CreateProject,
    reads=lambda c: {
        "organization": (streams.organization(c.organization_id), OrganizationState),
        "existing": (streams.project(c.project_id), _ProjectExistence),
    },
)
def create_project(
    cmd: CreateProject, now: datetime, organization: OrganizationState, existing: _ProjectExistence
) -> Decision:
    if not organization.exists:
        raise NotFound("The requested resource does not exist")
    name = cmd.name.strip()
    if not name:
        raise InvalidCommand("This field may not be blank.")
    if len(name) > 200:
        raise InvalidCommand("Ensure this field has no more than 200 characters.")
    if existing.created:
        # A snowflake id collision: the dispatcher draws a new id and retries, as Sentry does.
        raise IdCollision("Max allowed ID retry reached. Please try again in a second")
    slug = unique_slug(
        name,
        lambda s: s.lower() in organization.project_slugs,
        cmd.slug_suffixes,
        cmd.fallback_slug,
    )
    if slug is None:
        raise Conflict("Unable to find a free slug for this project name")
    org_id = cmd.organization_id
    return Decision(
        changes=(
            Change(streams.organization(org_id), ProjectSlugReserved(org_id, cmd.project_id, slug)),
            Change(
                streams.project(cmd.project_id),
                ProjectCreated(cmd.project_id, org_id, slug, name, cmd.platform),
            ),
        ),
        result={"id": cmd.project_id, "slug": slug, "name": name, "platform": cmd.platform},
    )


@dataclass(frozen=True)
class CreateApiToken(Command):
    organization_id: int
    token_hash: str
    token_last_characters: str
    label: str
    scopes: tuple[str, ...]


@handles(
    CreateApiToken,
    reads=lambda c: {
        "registry": (streams.TOKEN_REGISTRY, TokenRegistry),
        "organization": (streams.organization(c.organization_id), OrganizationState),
    },
)
def create_api_token(
    cmd: CreateApiToken, now: datetime, registry: TokenRegistry, organization: OrganizationState
) -> Decision:
    if not organization.exists:
        raise NotFound("The requested resource does not exist")
    unknown = sorted(set(cmd.scopes) - set(SCOPES))
    if unknown:
        raise InvalidCommand(f"Invalid scopes: {', '.join(unknown)}")
    if not cmd.scopes:
        raise InvalidCommand("A token needs at least one scope")
    token_id = registry.allocated + 1
    scopes = tuple(s for s in SCOPES if s in cmd.scopes)
    created = ApiTokenCreated(
        token_id, cmd.organization_id, cmd.token_hash, cmd.token_last_characters, cmd.label, scopes
    )
    return Decision(
        changes=(
            Change(streams.TOKEN_REGISTRY, ApiTokenIdAllocated(token_id)),
            Change(streams.api_token(cmd.token_hash), created),
        ),
        result={"id": token_id, "scopes": list(scopes)},
    )


@dataclass(frozen=True)
class TokenState(State):
    token_id: int | None = None
    organization_id: int | None = None
    label: str = ""
    scopes: tuple[str, ...] = ()

    def evolve(self, event: Event) -> Self:
        if isinstance(event, ApiTokenCreated):
            return replace(
                self,
                token_id=event.token_id,
                organization_id=event.organization_id,
                label=event.label,
                scopes=event.scopes,
            )
        return self
