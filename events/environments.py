"""Environments (Sentry's ``Environment`` and ``EnvironmentProject``): an organization's named
environments, the projects each is attached to, and whether a project hides it.

An organization's environments live on one stream, so names stay unique within it and a bulk
visibility change is one read. Ids are not drawn: a view numbers an environment (and an
attachment) by the log position of the event that made it, as Sentry's rows take the next
value of a sequence.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID, uuid5

from events.base import Event, event
from events.streams import NAMESPACE


def environments_stream(organization_id: int) -> UUID:
    return uuid5(NAMESPACE, f"environments:{organization_id}")


@event
@dataclass(frozen=True)
class EnvironmentCreated(Event):
    """``Environment.objects.get_or_create(name, organization_id)`` made a new one."""

    TOPIC = "environments.EnvironmentCreated.v1"
    organization_id: int
    name: str


@event
@dataclass(frozen=True)
class EnvironmentProjectAdded(Event):
    """``Environment.add_project``: the environment is now one of the project's. ``is_hidden``
    is None until someone sets it (Sentry's nullable column)."""

    TOPIC = "environments.EnvironmentProjectAdded.v1"
    organization_id: int
    name: str
    project_id: int
    is_hidden: bool | None


@event
@dataclass(frozen=True)
class EnvironmentVisibilitySet(Event):
    """The project hides (or shows) these of its environments: one for the details route, a
    list for the bulk route."""

    TOPIC = "environments.EnvironmentVisibilitySet.v1"
    organization_id: int
    project_id: int
    names: tuple[str, ...]
    is_hidden: bool
