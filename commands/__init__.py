"""Commands and their pure deciders; importing this package registers every handler."""

from commands import (
    billing,
    metrics,
    organization_settings,
    organizations,
    project_keys,
    project_settings,
    projects,
    relays,
    uploads,
)
from commands.base import (
    HANDLERS,
    Command,
    Conflict,
    Decision,
    DomainError,
    InvalidCommand,
    NotFound,
    decide,
    handler_for,
)

__all__ = [
    "HANDLERS",
    "Command",
    "Conflict",
    "Decision",
    "DomainError",
    "InvalidCommand",
    "NotFound",
    "billing",
    "decide",
    "handler_for",
    "metrics",
    "organization_settings",
    "organizations",
    "project_keys",
    "project_settings",
    "projects",
    "relays",
    "uploads",
]
