"""Commands and their pure deciders; importing this package registers every handler."""

from commands import billing, metrics, organizations, projects, relays, uploads
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
    "organizations",
    "projects",
    "relays",
    "uploads",
]
