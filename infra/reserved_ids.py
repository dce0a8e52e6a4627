"""Which events introduce an entity under a drawn (snowflake) id, and the reservations that
make such an id unique in the log whatever Redis handed out (see ``events.ids``)."""

from __future__ import annotations

from collections.abc import Sequence

from events import Event
from events.groups import GroupCreated
from events.ids import IdReserved, reserved_id_stream
from events.organizations import OrganizationCreated
from events.project_keys import ProjectKeyCreated
from events.projects import ProjectCreated
from events.releases import DeployCreated, ReleaseCreated, RepositoryAdded
from infra.eventstore import Pending

# event type -> (kind of entity, field holding its drawn id). Each kind's ids are a view's
# primary key, so a repeated one would stop that view on its UNIQUE constraint.
NEW_ENTITY_IDS: dict[type[Event], tuple[str, str]] = {
    OrganizationCreated: ("organization", "organization_id"),
    ProjectCreated: ("project", "project_id"),
    ProjectKeyCreated: ("project_key", "key_id"),
    GroupCreated: ("group", "group_id"),
    ReleaseCreated: ("release", "release_id"),
    DeployCreated: ("deploy", "deploy_id"),
    RepositoryAdded: ("repository", "repository_id"),
}


def reservations(pending: Sequence[Pending]) -> list[Pending]:
    """An ``IdReserved`` at version 1 of its stream for each id these events introduce: the
    append fails if any of them is taken."""
    out: list[Pending] = []
    for _, _, evt in pending:
        found = NEW_ENTITY_IDS.get(type(evt))
        if found is not None:
            kind, name = found
            entity_id = getattr(evt, name)
            out.append((reserved_id_stream(kind, entity_id), 1, IdReserved(kind, entity_id)))
    return out
