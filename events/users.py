"""What eventry knows of the person behind an API token (a token acts as its user): an email
address for notifications, and identities linked with repository providers."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID, uuid5

from events.base import Event, event
from events.streams import NAMESPACE


def user_stream(user_id: int) -> UUID:
    return uuid5(NAMESPACE, f"user:{user_id}")


@event
@dataclass(frozen=True)
class UserEmailSet(Event):
    TOPIC = "users.UserEmailSet.v1"
    user_id: int
    organization_id: int
    email: str


@event
@dataclass(frozen=True)
class IdentityLinked(Event):
    """An identity with a provider; ``credential_sha256`` is what the provider is shown."""

    TOPIC = "users.IdentityLinked.v1"
    user_id: int
    provider: str
    external_id: str
    credential_sha256: str


@event
@dataclass(frozen=True)
class IdentityRemoved(Event):
    """Sentry's ``handle_invalid_identity``: the provider refused it, so it is deleted."""

    TOPIC = "users.IdentityRemoved.v1"
    user_id: int
    provider: str
    external_id: str
    reason: str
