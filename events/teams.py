"""Teams of an organization, and the teams a project belongs to."""

from __future__ import annotations

from dataclasses import dataclass

from events.base import Event, event
from events.projects import ProjectEvent


@event
@dataclass(frozen=True)
class TeamCreated(Event):
    """On the organization's teams stream, which holds its team slugs."""

    TOPIC = "teams.TeamCreated.v1"
    organization_id: int
    team_id: int
    slug: str
    name: str


@event
@dataclass(frozen=True)
class ProjectTeamAdded(ProjectEvent):
    """On the project's stream: the project now belongs to the team as well."""

    TOPIC = "teams.ProjectTeamAdded.v1"
    team_id: int
    team_slug: str
