"""Commands and their pure deciders; importing this package registers every handler."""

from commands import metrics, organizations, projects, relays
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
    "decide",
    "handler_for",
    "metrics",
    "organizations",
    "projects",
    "relays",
]
