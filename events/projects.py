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
