"""The command side's building blocks: commands, decisions, errors and the handler registry.

A handler is a pure function ``decide(cmd, now, **states) -> Decision``. What it reads is
declared beside it (``reads``): the dispatcher loads those streams, folds each into its state
type, calls the handler, and appends the decision's changes atomically. Deciders never touch
I/O, the clock or randomness: ``now`` and any ids or random candidates come in with the call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Self
from uuid import UUID

from events import Event


@dataclass(frozen=True)
class Command:
    """Base of every command: a frozen request to change state."""


class DomainError(Exception):
    """A command that cannot be carried out; ``status`` is the HTTP status it maps to."""

    status: ClassVar[int] = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidCommand(DomainError):
    status = 400


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409


class IdCollision(Conflict):
    """A freshly drawn snowflake id is already used; retried with a new id, 409 when retries run out."""


class FieldErrors(InvalidCommand):
    """A 400 in the shape of Sentry's serializer errors: ``{"field": ["message", ...]}``."""

    def __init__(self, errors: dict[str, Any]) -> None:
        first = next(iter(errors.values()), [""])
        super().__init__(str(first[0] if isinstance(first, list) and first else first))
        self.errors = errors


@dataclass(frozen=True)
class Change:
    """One event to append to one stream."""

    stream: UUID
    event: Event


@dataclass(frozen=True)
class Decision:
    """What a handler decided: events to append, a result for the caller, and optionally an
    error that still fails the request after the events are appended (Sentry's repair-then-fail)."""

    changes: tuple[Change, ...] = ()
    result: Any = None
    error: DomainError | None = None


class State:
    """A stream folded into what deciders need. Subclasses are frozen dataclasses."""

    @classmethod
    def initial(cls) -> Self:
        return cls()

    def evolve(self, event: Event) -> Self:
        return self

    @classmethod
    def fold(cls, events: Iterable[Event]) -> Self:
        state = cls.initial()
        for evt in events:
            state = state.evolve(evt)
        return state


Reads = Callable[[Any], dict[str, tuple[UUID, type[State]]]]


@dataclass(frozen=True)
class Handler:
    reads: Reads
    decide: Callable[..., Decision]
    name: str = field(default="")


HANDLERS: dict[type[Command], Handler] = {}


def handles(
    command_type: type[Command], reads: Reads
) -> Callable[[Callable[..., Decision]], Callable[..., Decision]]:
    """Register ``decide`` as the handler of ``command_type``; ``reads`` names the streams it folds."""

    def register(decide: Callable[..., Decision]) -> Callable[..., Decision]:
        if command_type in HANDLERS:
            raise TypeError(f"{command_type.__name__} already has a handler")
        HANDLERS[command_type] = Handler(reads=reads, decide=decide, name=command_type.__name__)
        return decide

    return register


def handler_for(command: Command) -> Handler:
    try:
        return HANDLERS[type(command)]
    except KeyError:
        raise TypeError(f"no handler for {type(command).__name__}") from None


def decide(command: Command, now: datetime, states: dict[str, State]) -> Decision:
    """Run the registered decider: the one entry point tests and the dispatcher share."""
    return handler_for(command).decide(command, now, **states)
