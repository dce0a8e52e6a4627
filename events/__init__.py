"""The event catalogue: importing this package registers every event topic."""

from events import (
    billing,
    environments,
    groups,
    ids,
    metrics,
    organizations,
    project_keys,
    projects,
    relays,
    releases,
    requests,
    streams,
    teams,
    uploads,
    users,
)
from events.base import Event, from_payload, registered_topics, to_payload
from events.envelope import Meta, Recorded

__all__ = [
    "Event",
    "Meta",
    "Recorded",
    "billing",
    "environments",
    "from_payload",
    "groups",
    "ids",
    "metrics",
    "organizations",
    "project_keys",
    "projects",
    "registered_topics",
    "relays",
    "releases",
    "requests",
    "streams",
    "teams",
    "to_payload",
    "uploads",
    "users",
]
