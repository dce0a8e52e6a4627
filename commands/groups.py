"""Issues (groups): creation with a per-project short id, and their state for resolution."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Self

from commands.base import Change, Command, Decision, IdCollision, InvalidCommand, State, handles
from events import Event
from events.groups import (
    GroupCreated,
    GroupResolvedInCommit,
    GroupResolvedInRelease,
    ShortIdAllocated,
    group_stream,
    project_short_ids_stream,
)

MAX_TITLE_LENGTH = 255  # what we keep; Sentry's message is longer, its title is derived


@dataclass(frozen=True)
class GroupState(State):
    group_id: int | None = None
    organization_id: int | None = None
    project_id: int | None = None
    short_id: int = 0
    status: str = "unresolved"
    in_inbox: bool = False
    links: frozenset[tuple[int, str]] = frozenset()  # (repository id, commit) that resolve it
    resolved_in_release: str | None = None

    @property
    def exists(self) -> bool:
        return self.group_id is not None

    def evolve(self, event: Event) -> Self:
        if isinstance(event, GroupCreated):
            return replace(
                self,
                group_id=event.group_id,
                organization_id=event.organization_id,
                project_id=event.project_id,
                short_id=event.short_id,
                in_inbox=True,
            )
        if isinstance(event, GroupResolvedInCommit):
            link = (event.repository_id, event.commit)
            return replace(self, status="resolved", in_inbox=False, links=self.links | {link})
        if isinstance(event, GroupResolvedInRelease):
            return replace(self, status="resolved", in_inbox=False, resolved_in_release=event.version)
        return self


@dataclass(frozen=True)
class ShortIdCounter(State):
    last: int = 0

    def evolve(self, event: Event) -> Self:
        return replace(self, last=event.short_id) if isinstance(event, ShortIdAllocated) else self


@dataclass(frozen=True)
class CreateGroup(Command):
    organization_id: int
    project_id: int
    group_id: int
    title: str
    culprit: str | None = None
    first_release: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


@handles(
    CreateGroup,
    reads=lambda c: {
        "counter": (project_short_ids_stream(c.project_id), ShortIdCounter),
        "group": (group_stream(c.group_id), GroupState),
    },
)
def create_group(cmd: CreateGroup, now: datetime, counter: ShortIdCounter, group: GroupState) -> Decision:
    title = cmd.title.strip()
    if not title:
        raise InvalidCommand("This field may not be blank.")
    if len(title) > MAX_TITLE_LENGTH:
        raise InvalidCommand(f"Ensure this field has no more than {MAX_TITLE_LENGTH} characters.")
    if group.exists:
        raise IdCollision("Max allowed ID retry reached. Please try again in a second")
    short_id = counter.last + 1
    created = GroupCreated(
        cmd.group_id, cmd.project_id, cmd.organization_id, short_id, title, cmd.culprit, cmd.first_release
    )
    return Decision(
        changes=(
            Change(
                project_short_ids_stream(cmd.project_id),
                ShortIdAllocated(cmd.project_id, cmd.group_id, short_id),
            ),
            Change(group_stream(cmd.group_id), created),
        ),
        result={"id": cmd.group_id, "short_id": short_id, "title": title},
    )
