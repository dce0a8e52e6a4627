"""Organizations, their project slug registry and their API tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


@event
@dataclass(frozen=True)
class OrganizationSlugReleased(Event):
    """On the global registry stream: the slug is free again (the organization took another)."""

    TOPIC = "organizations.OrganizationSlugReleased.v1"
    organization_id: int
    slug: str


@event
@dataclass(frozen=True)
class OrganizationEdited(Event):
    """A settings change of ``PUT /organizations/{org}/``: its effects and Sentry's ``changed_data``.

    ``options`` holds every organization option written (option key -> stored value, ``None``
    stored as null), ``removed_options`` the keys deleted, ``flags`` every flag whose value
    changed (flag name -> value), and ``changes`` the audit data exactly as Sentry builds it
    (empty: something was stored, but nothing to audit).
    """

    TOPIC = "organizations.OrganizationEdited.v1"
    organization_id: int
    slug: str
    name: str
    previous_slug: str
    options: dict[str, Any]
    removed_options: tuple[str, ...]
    flags: dict[str, bool]
    default_role: str
    changes: dict[str, str]


@event
@dataclass(frozen=True)
class ProjectSlugReleased(Event):
    """On the organization's stream: a project's slug is free again (renamed or deleted)."""

    TOPIC = "organizations.ProjectSlugReleased.v1"
    organization_id: int
    project_id: int
    slug: str


@event
@dataclass(frozen=True)
class OrganizationRemoved(Event):
    """``DELETE /organizations/{org}/``: the organization is pending deletion. ``audit`` is
    ``Organization.get_audit_log_data()`` as Sentry records it for ``org.remove``."""

    TOPIC = "organizations.OrganizationRemoved.v1"
    organization_id: int
    slug: str
    audit: dict[str, Any]


@event
@dataclass(frozen=True)
class OrganizationRestored(Event):
    """``PUT`` with ``cancelDeletion``: active again; ``audit`` as for ``org.restore``."""

    TOPIC = "organizations.OrganizationRestored.v1"
    organization_id: int
    slug: str
    audit: dict[str, Any]
