"""Relay registration: the second half of Relay's challenge/response handshake."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Self

from commands.base import Change, Command, Decision, InvalidCommand, State, handles
from events import Event, streams
from events.relays import RelayRegistered, RelayVersionChanged

DIFFERENT_KEY = "Attempted to register agent with a different public key"


@dataclass(frozen=True)
class RelayState(State):
    relay_id: str | None = None
    public_key: str = ""
    version: str = ""
    internal: bool = False

    @property
    def exists(self) -> bool:
        return self.relay_id is not None

    def evolve(self, event: Event) -> Self:
        if isinstance(event, RelayRegistered):
            return replace(
                self,
                relay_id=event.relay_id,
                public_key=event.public_key,
                version=event.version,
                internal=event.internal,
            )
        if isinstance(event, RelayVersionChanged):
            return replace(self, version=event.version)
        return self


@dataclass(frozen=True)
class RegisterRelay(Command):
    relay_id: str
    public_key: str
    version: str
    internal: bool


@handles(RegisterRelay, reads=lambda c: {"relay": (streams.relay(c.relay_id), RelayState)})
def register_relay(cmd: RegisterRelay, now: datetime, relay: RelayState) -> Decision:
    """A known relay may register again (idempotent) but never with another key."""
    stream = streams.relay(cmd.relay_id)
    result = {"relay_id": cmd.relay_id}
    if relay.exists:
        if relay.public_key != cmd.public_key:
            raise InvalidCommand(DIFFERENT_KEY)
        changes = []
        if relay.version != cmd.version:
            changes.append(Change(stream, RelayVersionChanged(cmd.relay_id, cmd.version)))
        if cmd.internal and not relay.internal:
            changes.append(Change(stream, RelayRegistered(cmd.relay_id, cmd.public_key, cmd.version, True)))
        return Decision(changes=tuple(changes), result=result)
    registered = RelayRegistered(cmd.relay_id, cmd.public_key, cmd.version, cmd.internal)
    return Decision(changes=(Change(stream, registered),), result=result)
