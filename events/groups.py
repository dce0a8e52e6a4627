"""Issues (Sentry's groups), as much of them as resolving them from commits needs: a short id
per project, a status, the inbox, activity and group history."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID, uuid5

from events.base import Event, event
from events.streams import NAMESPACE


def group_stream(group_id: int) -> UUID:
    return uuid5(NAMESPACE, f"group:{group_id}")


def project_short_ids_stream(project_id: int) -> UUID:
    """The project's short id counter: its version is the last short id handed out."""
    return uuid5(NAMESPACE, f"project-short-ids:{project_id}")


@event
@dataclass(frozen=True)
class ShortIdAllocated(Event):
    TOPIC = "groups.ShortIdAllocated.v1"
    project_id: int
    group_id: int
    short_id: int


@dataclass(frozen=True)
class GroupEvent(Event):
    group_id: int
    project_id: int
    organization_id: int


@event
@dataclass(frozen=True)
class GroupCreated(GroupEvent):
    """A new, unresolved issue, in the inbox with reason ``new`` (0)."""

    TOPIC = "groups.GroupCreated.v1"
    short_id: int
    title: str
    culprit: str | None
    first_release: str | None


@event
@dataclass(frozen=True)
class GroupResolvedInCommit(GroupEvent):
    """A commit saying "Fixes SHORT-ID": the GroupLink, activity SET_RESOLVED_IN_COMMIT and group
    history of Sentry's ``resolved_in_commit``; the group is resolved and leaves the inbox."""

    TOPIC = "groups.GroupResolvedInCommit.v1"
    repository_id: int
    repository: str
    commit: str


@event
@dataclass(frozen=True)
class GroupResolvedInRelease(GroupEvent):
    """``set_commits``' GroupResolution (type in_release) for a group its commits resolve."""

    TOPIC = "groups.GroupResolvedInRelease.v1"
    release_id: int
    version: str
