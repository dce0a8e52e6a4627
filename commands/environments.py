"""Environments: made where Sentry makes them (a deploy's ``Environment.get_or_create`` and
``add_project``), hidden or shown per project (the environment details and bulk routes)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Self

from commands.base import Change, Command, Decision, NotFound, State, handles
from events import Event
from events.environments import (
    EnvironmentCreated,
    EnvironmentProjectAdded,
    EnvironmentVisibilitySet,
    environments_stream,
)

ENVIRONMENT_NAME_MAX_LENGTH = 64
# Sentry's ENVIRONMENT_NAME_PATTERN, matched as ``re.match`` does there (``$`` also matches
# before a final newline, which DRF's trimming has removed by then anyway).
ENVIRONMENT_NAME_PATTERN = re.compile(r"^[^\n\r\f\/]*$")
INVALID_ENVIRONMENT = "Invalid value for environment"
NOT_FOUND = "The requested resource does not exist"


def is_valid_name(name: str) -> bool:
    """``Environment.is_valid_name``."""
    return len(name) <= ENVIRONMENT_NAME_MAX_LENGTH and ENVIRONMENT_NAME_PATTERN.match(name) is not None


@dataclass(frozen=True)
class EnvironmentsState(State):
    """An organization's environments: name -> {project id: is_hidden (None: never set)}."""

    environments: dict[str, dict[int, bool | None]] = field(default_factory=dict)

    def evolve(self, event: Event) -> Self:
        if isinstance(event, EnvironmentCreated):
            return replace(self, environments={**self.environments, event.name: {}})
        if isinstance(event, EnvironmentProjectAdded):
            projects = {**self.environments.get(event.name, {}), event.project_id: event.is_hidden}
            return replace(self, environments={**self.environments, event.name: projects})
        if isinstance(event, EnvironmentVisibilitySet):
            changed = {
                name: {**self.environments[name], event.project_id: event.is_hidden}
                for name in event.names
                if name in self.environments
            }
            return replace(self, environments={**self.environments, **changed})
        return self

    def attached(self, name: str, project_id: int) -> bool:
        return project_id in self.environments.get(name, {})


def ensure_environment(
    state: EnvironmentsState, organization_id: int, name: str, project_ids: tuple[int, ...]
) -> list[Change]:
    """``Environment.objects.get_or_create(name, organization_id)`` then ``add_project`` for
    each project: the events for whatever of that does not exist yet."""
    stream = environments_stream(organization_id)
    out: list[Change] = []
    if name not in state.environments:
        out.append(Change(stream, EnvironmentCreated(organization_id, name)))
    for project_id in dict.fromkeys(project_ids):
        if not state.attached(name, project_id):
            out.append(Change(stream, EnvironmentProjectAdded(organization_id, name, project_id, None)))
    return out


@dataclass(frozen=True)
class SetEnvironmentVisibility(Command):
    """``PUT .../environments/{name}/`` (one name; a missing one is a 404, ``is_hidden`` None
    changes nothing) or, with ``bulk``, ``PUT .../environments/`` (names the project does not
    have are left out, as Sentry's filtered update leaves them)."""

    organization_id: int
    project_id: int
    names: tuple[str, ...]
    is_hidden: bool | None
    bulk: bool = False


@handles(
    SetEnvironmentVisibility,
    reads=lambda c: {"environments": (environments_stream(c.organization_id), EnvironmentsState)},
)
def set_environment_visibility(
    cmd: SetEnvironmentVisibility, now: datetime, environments: EnvironmentsState
) -> Decision:
    """Result: the project's named environments (sorted) and whether each is hidden after."""
    names = sorted({n for n in cmd.names if n and environments.attached(n, cmd.project_id)})
    if not cmd.bulk and len(names) != len(set(cmd.names)):
        raise NotFound(NOT_FOUND)
    current = {n: environments.environments[n][cmd.project_id] for n in names}
    changing = tuple(n for n in names if cmd.is_hidden is not None and current[n] is not cmd.is_hidden)
    changes: tuple[Change, ...] = ()
    if changing:
        assert cmd.is_hidden is not None
        event = EnvironmentVisibilitySet(cmd.organization_id, cmd.project_id, changing, cmd.is_hidden)
        changes = (Change(environments_stream(cmd.organization_id), event),)
        current.update(dict.fromkeys(changing, cmd.is_hidden))
    return Decision(changes=changes, result=current)
