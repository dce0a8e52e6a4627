"""A project's own stream: its existence, slug and options."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Self

from commands.base import Change, Command, Decision, InvalidCommand, NotFound, State, handles
from events import Event, streams
from events.metrics import BLOCKED_METRICS_OPTION, BlockedMetricsReset, MetricBlockingChanged
from events.projects import ProjectCreated, ProjectOptionRemoved, ProjectOptionSet


@dataclass(frozen=True)
class ProjectState(State):
    project_id: int | None = None
    organization_id: int | None = None
    slug: str = ""
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def exists(self) -> bool:
        return self.project_id is not None

    def evolve(self, event: Event) -> Self:
        if isinstance(event, ProjectCreated):
            return replace(
                self,
                project_id=event.project_id,
                organization_id=event.organization_id,
                slug=event.slug,
            )
        if isinstance(event, ProjectOptionSet):
            return self._with_option(event.key, event.value)
        if isinstance(event, ProjectOptionRemoved):
            return self._with_option(event.key, None)
        if isinstance(event, MetricBlockingChanged):
            return self._with_option(BLOCKED_METRICS_OPTION, event.option_value)
        if isinstance(event, BlockedMetricsReset):
            return self._with_option(BLOCKED_METRICS_OPTION, None)
        return self

    def _with_option(self, key: str, value: Any) -> Self:
        options = {k: v for k, v in self.options.items() if k != key}
        if value is not None:
            options[key] = value
        return replace(self, options=options)


def project_reads(c: Any) -> dict[str, tuple[Any, type[State]]]:
    return {"project": (streams.project(c.project_id), ProjectState)}


def existing(project: ProjectState) -> ProjectState:
    if not project.exists:
        raise NotFound("The requested resource does not exist")
    return project


@dataclass(frozen=True)
class UpdateProjectOptions(Command):
    """Set (value not None) or remove (value None) several options at once."""

    project_id: int
    options: tuple[tuple[str, Any], ...]


@handles(UpdateProjectOptions, reads=project_reads)
def update_project_options(cmd: UpdateProjectOptions, now: datetime, project: ProjectState) -> Decision:
    existing(project)
    assert project.project_id is not None and project.organization_id is not None
    changes: list[Event] = []
    for key, value in cmd.options:
        if not key or len(key) > 64:
            raise InvalidCommand(f"Invalid option key: {key!r}")
        if value is None and key in project.options:
            changes.append(ProjectOptionRemoved(project.project_id, project.organization_id, key))
        elif value is not None and project.options.get(key) != value:
            changes.append(ProjectOptionSet(project.project_id, project.organization_id, key, value))
    stream = streams.project(project.project_id)
    after = project
    for evt in changes:
        after = after.evolve(evt)
    return Decision(
        changes=tuple(Change(stream, e) for e in changes),
        result=dict(sorted(after.options.items())),
    )
