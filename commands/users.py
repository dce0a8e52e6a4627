"""A token's user: email address and provider identities (see ``events.users``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Self

from commands.base import Change, Command, Decision, InvalidCommand, NotFound, State, handles
from events import Event
from events.users import IdentityLinked, IdentityRemoved, UserEmailSet, user_stream

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


@dataclass(frozen=True)
class UserState(State):
    email: str | None = None
    identities: dict[str, tuple[str, str]] = field(default_factory=dict)  # provider -> (external id, sha256)

    def evolve(self, event: Event) -> Self:
        if isinstance(event, UserEmailSet):
            return replace(self, email=event.email)
        if isinstance(event, IdentityLinked):
            linked = (event.external_id, event.credential_sha256)
            return replace(self, identities={**self.identities, event.provider: linked})
        if isinstance(event, IdentityRemoved):
            return replace(self, identities={k: v for k, v in self.identities.items() if k != event.provider})
        return self


@dataclass(frozen=True)
class SetUserEmail(Command):
    user_id: int
    organization_id: int
    email: str


@handles(SetUserEmail, reads=lambda c: {"user": (user_stream(c.user_id), UserState)})
def set_user_email(cmd: SetUserEmail, now: datetime, user: UserState) -> Decision:
    if not EMAIL.match(cmd.email) or len(cmd.email) > 75:
        raise InvalidCommand("Enter a valid email address.")
    event = UserEmailSet(cmd.user_id, cmd.organization_id, cmd.email)
    return Decision(changes=(Change(user_stream(cmd.user_id), event),), result={"email": cmd.email})


@dataclass(frozen=True)
class LinkIdentity(Command):
    user_id: int
    provider: str
    external_id: str
    credential_sha256: str


@handles(LinkIdentity, reads=lambda c: {"user": (user_stream(c.user_id), UserState)})
def link_identity(cmd: LinkIdentity, now: datetime, user: UserState) -> Decision:
    event = IdentityLinked(cmd.user_id, cmd.provider, cmd.external_id, cmd.credential_sha256)
    return Decision(changes=(Change(user_stream(cmd.user_id), event),), result={"provider": cmd.provider})


@dataclass(frozen=True)
class RemoveIdentity(Command):
    user_id: int
    provider: str
    reason: str


@handles(RemoveIdentity, reads=lambda c: {"user": (user_stream(c.user_id), UserState)})
def remove_identity(cmd: RemoveIdentity, now: datetime, user: UserState) -> Decision:
    linked = user.identities.get(cmd.provider)
    if linked is None:
        raise NotFound("The requested resource does not exist")
    event = IdentityRemoved(cmd.user_id, cmd.provider, linked[0], cmd.reason)
    return Decision(changes=(Change(user_stream(cmd.user_id), event),))
