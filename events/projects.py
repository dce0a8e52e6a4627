"""Projects and their options."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from events.base import Event, event


@dataclass(frozen=True)
class ProjectEvent(Event):
    """Fields every event on a project's stream carries, so views need no lookups."""

    project_id: int
    organization_id: int


@event
@dataclass(frozen=True)
class ProjectCreated(ProjectEvent):
    TOPIC = "projects.ProjectCreated.v1"
    slug: str
    name: str
    platform: str | None


@event
@dataclass(frozen=True)
class ProjectOptionSet(ProjectEvent):
    TOPIC = "projects.ProjectOptionSet.v1"
    key: str
    value: Any


@event
@dataclass(frozen=True)
class ProjectOptionRemoved(ProjectEvent):
    TOPIC = "projects.ProjectOptionRemoved.v1"
    key: str


# Project options Sentry bumps on every option change (``update_rev_for_option``), so Relay sees a
# new config revision. Here the project_options view derives them from the log (see there).
RELAY_REV_OPTION = "sentry:relay-rev"
RELAY_REV_LASTCHANGE_OPTION = "sentry:relay-rev-lastchange"


@event
@dataclass(frozen=True)
class ProjectUpdated(ProjectEvent):
    """Name, slug or platform changed. ``changes`` is Sentry's PROJECT_EDIT audit data."""

    TOPIC = "projects.ProjectUpdated.v1"
    slug: str
    name: str
    platform: str | None
    previous_slug: str
    changes: dict[str, Any]


@event
@dataclass(frozen=True)
class ProjectBookmarkSet(ProjectEvent):
    """A caller starred or unstarred the project (Sentry's ``ProjectBookmark``, per user; here
    per token, as a token acts for its user). Not audited, as in Sentry."""

    TOPIC = "projects.ProjectBookmarkSet.v1"
    token_id: int
    bookmarked: bool


@event
@dataclass(frozen=True)
class ProjectRemoved(ProjectEvent):
    """The project is pending deletion: its slug is renamed away (and freed in the organization),
    and ``public_keys`` (its keys at the time) are no longer served."""

    TOPIC = "projects.ProjectRemoved.v1"
    slug: str
    name: str
    renamed_slug: str
    public_keys: tuple[str, ...]
