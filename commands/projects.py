"""A project's own stream: its existence, name, slug, status, options and keys."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Self

from commands.base import Change, InvalidCommand, NotFound, State
from events import Event, streams
from events.metrics import (
    BLOCKED_METRICS_OPTION,
    BlockedMetricsReset,
    Blocking,
    MetricBlockingChanged,
    entry_of,
    lenient,
    render_option,
    with_entry,
)
from events.project_keys import ProjectKeyEvent, ProjectKeyRemoved
from events.projects import (
    ProjectBookmarkSet,
    ProjectCreated,
    ProjectOptionRemoved,
    ProjectOptionSet,
    ProjectRemoved,
    ProjectUpdated,
)

ACTIVE, PENDING_DELETION = "active", "pending_deletion"
MAX_OPTION_KEY_LENGTH = 64  # ProjectOption.key is a CharField(max_length=64)


@dataclass(frozen=True)
class ProjectState(State):
    project_id: int | None = None
    organization_id: int | None = None
    slug: str = ""
    name: str = ""
    platform: str | None = None
    status: str = ACTIVE
    options: dict[str, Any] = field(default_factory=dict)
    keys: dict[str, ProjectKeyEvent] = field(default_factory=dict)  # public key -> its latest state
    # ``sentry:blocked_metrics`` once a metric event has been folded (None: read the option as
    # stored). Kept as entries, so that folding one metric's change costs no JSON.
    blocked_metrics: Blocking | None = None
    bookmarked_by: frozenset[int] = frozenset()  # tokens that starred the project

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
                name=event.name,
                platform=event.platform,
            )
        if isinstance(event, ProjectUpdated):
            return replace(self, slug=event.slug, name=event.name, platform=event.platform)
        if isinstance(event, ProjectRemoved):
            return replace(self, status=PENDING_DELETION, slug=event.renamed_slug)
        if isinstance(event, ProjectBookmarkSet):
            others = self.bookmarked_by - {event.token_id}
            return replace(self, bookmarked_by=others | {event.token_id} if event.bookmarked else others)
        if isinstance(event, ProjectOptionSet):
            return self._with_option(event.key, event.value)
        if isinstance(event, ProjectOptionRemoved):
            return self._with_option(event.key, None)
        if isinstance(event, MetricBlockingChanged):
            before = self.blocked_metrics
            if before is None:
                before = lenient(self.options.get(BLOCKED_METRICS_OPTION))
            options = {k: v for k, v in self.options.items() if k != BLOCKED_METRICS_OPTION}
            return replace(self, options=options, blocked_metrics=with_entry(before, entry_of(event)))
        if isinstance(event, BlockedMetricsReset):
            return self._with_option(BLOCKED_METRICS_OPTION, None)
        if isinstance(event, ProjectKeyRemoved):
            return replace(self, keys={k: v for k, v in self.keys.items() if k != event.public_key})
        if isinstance(event, ProjectKeyEvent):
            return replace(self, keys={**self.keys, event.public_key: event})
        return self

    def _with_option(self, key: str, value: Any) -> Self:
        options = {k: v for k, v in self.options.items() if k != key}
        if value is not None:
            options[key] = value
        if key == BLOCKED_METRICS_OPTION:  # set or removed as a whole: the stored value is it
            return replace(self, options=options, blocked_metrics=None)
        return replace(self, options=options)

    def option(self, key: str) -> Any:
        """An option's stored value (``sentry:blocked_metrics`` rendered from its entries)."""
        if key == BLOCKED_METRICS_OPTION and self.blocked_metrics is not None:
            return render_option(self.blocked_metrics)
        return self.options.get(key)

    def has_option(self, key: str) -> bool:
        return key in self.options or (key == BLOCKED_METRICS_OPTION and self.blocked_metrics is not None)

    def option_values(self) -> dict[str, Any]:
        """Every option as stored (what Sentry's project details list)."""
        if self.blocked_metrics is None:
            return dict(self.options)
        return {**self.options, BLOCKED_METRICS_OPTION: render_option(self.blocked_metrics)}


def project_reads(c: Any) -> dict[str, tuple[Any, type[State]]]:
    return {"project": (streams.project(c.project_id), ProjectState)}


def existing(project: ProjectState) -> ProjectState:
    """The project, unless it is missing or pending deletion (both look missing, as in Sentry)."""
    if not project.exists or project.status != ACTIVE:
        raise NotFound("The requested resource does not exist")
    return project


def option_changes(project: ProjectState, options: tuple[tuple[str, Any], ...]) -> list[Event]:
    """Set (value not None) or remove (value None) options; unchanged values produce nothing."""
    assert project.project_id is not None and project.organization_id is not None
    changes: list[Event] = []
    for key, value in options:
        if not key or len(key) > MAX_OPTION_KEY_LENGTH:
            raise InvalidCommand(f"Invalid option key: {key!r}")
        if value is None and project.has_option(key):
            changes.append(ProjectOptionRemoved(project.project_id, project.organization_id, key))
        elif value is not None and project.option(key) != value:
            changes.append(ProjectOptionSet(project.project_id, project.organization_id, key, value))
    return changes


def on_project(project: ProjectState, events: list[Event]) -> tuple[Change, ...]:
    assert project.project_id is not None
    stream = streams.project(project.project_id)
    return tuple(Change(stream, e) for e in events)


def fold_into(project: ProjectState, events: list[Event]) -> ProjectState:
    for evt in events:
        project = project.evolve(evt)
    return project
