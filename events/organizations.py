"""Organizations, their project slug registry and their API tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from events.base import Event, event, upcaster


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


USER_TOKEN, ORG_TOKEN = "user", "org"  # a user auth token (sntryu_), an org auth token (sntrys_)


@event
@dataclass(frozen=True)
class ApiTokenCreated(Event):
    """On the token's stream. ``expires_at`` (ISO 8601, UTC) or None: it never expires."""

    TOPIC = "organizations.ApiTokenCreated.v2"
    token_id: int
    organization_id: int
    token_hash: str
    token_last_characters: str
    label: str
    scopes: tuple[str, ...]
    kind: str = USER_TOKEN
    expires_at: str | None = None


@upcaster("organizations.ApiTokenCreated.v1", ApiTokenCreated.TOPIC)
def _token_created_v1(payload: dict[str, Any]) -> dict[str, Any]:
    """v1 tokens were user tokens without an expiry (the new fields' defaults)."""
    return payload


@event
@dataclass(frozen=True)
class ApiTokenRevoked(Event):
    """On the token's stream: the token authenticates no more (Sentry's ``date_deactivated``).
    ``label`` and ``scopes`` as they were, for the audit entry; ``rotated_to``: the token that
    replaced it (0: none)."""

    TOPIC = "organizations.ApiTokenRevoked.v1"
    token_id: int
    organization_id: int
    label: str
    scopes: tuple[str, ...]
    kind: str
    rotated_to: int = 0


@event
@dataclass(frozen=True)
class ApiTokenRenamed(Event):
    """On the token's stream: ``PUT /org-auth-tokens/{id}/`` gave it a new name."""

    TOPIC = "organizations.ApiTokenRenamed.v1"
    token_id: int
    organization_id: int
    label: str


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
