"""Organizations, their project slug registry and their API tokens."""

from __future__ import annotations

from dataclasses import dataclass

from events.base import Event, event


@event
@dataclass(frozen=True)
class OrganizationSlugReserved(Event):
    """On the global registry stream: the slug is taken, race-free across writers."""

    TOPIC = "organizations.OrganizationSlugReserved.v1"
    organization_id: int
    slug: str


@event
@dataclass(frozen=True)
class OrganizationCreated(Event):
    TOPIC = "organizations.OrganizationCreated.v1"
    organization_id: int
    slug: str
    name: str


@event
@dataclass(frozen=True)
class ProjectSlugReserved(Event):
    """On the organization's stream: project slugs are unique per organization."""

    TOPIC = "organizations.ProjectSlugReserved.v1"
    organization_id: int
    project_id: int
    slug: str


@event
@dataclass(frozen=True)
class ApiTokenIdAllocated(Event):
    """On the token registry stream, whose version is the token's sequential id."""

    TOPIC = "organizations.ApiTokenIdAllocated.v1"
    token_id: int


@event
@dataclass(frozen=True)
class ApiTokenCreated(Event):
    TOPIC = "organizations.ApiTokenCreated.v1"
    token_id: int
    organization_id: int
    token_hash: str
    token_last_characters: str
    label: str
    scopes: tuple[str, ...]
