"""A token's life after creation: renamed, revoked, or rotated (a new secret replaces it).

Every command names the token by its id *and* the hash of its secret (the stream it lives on,
which callers find in the tokens view), and the decider checks that they belong together and
to the organization: a token of another organization is not found, as in Sentry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from commands.base import Change, Command, Decision, InvalidCommand, NotFound, State, handles
from commands.organizations import (
    NewToken,
    OrganizationState,
    TokenRegistry,
    TokenState,
    check_token_name,
    new_token_changes,
    new_token_reads,
    token_expiry,
    token_result,
)
from events import streams
from events.organizations import ApiTokenRenamed, ApiTokenRevoked

NOT_FOUND = "The requested resource does not exist"


@dataclass(frozen=True)
class TokenCommand(Command):
    organization_id: int
    token_id: int
    token_hash: str


def _live(cmd: TokenCommand, token: TokenState) -> TokenState:
    """The token the command names, if it is this organization's and not revoked."""
    if token.token_id != cmd.token_id or token.organization_id != cmd.organization_id or token.revoked:
        raise NotFound(NOT_FOUND)
    return token


def _token_reads(c: TokenCommand) -> dict[str, tuple[UUID, type[State]]]:
    return {"token": (streams.api_token(c.token_hash), TokenState)}


@dataclass(frozen=True)
class RevokeApiToken(TokenCommand):
    pass


@handles(RevokeApiToken, reads=_token_reads)
def revoke_api_token(cmd: RevokeApiToken, now: datetime, token: TokenState) -> Decision:
    live = _live(cmd, token)
    revoked = ApiTokenRevoked(cmd.token_id, cmd.organization_id, live.label, live.scopes, live.kind)
    return Decision(
        changes=(Change(streams.api_token(cmd.token_hash), revoked),), result={"id": cmd.token_id}
    )


@dataclass(frozen=True)
class RenameApiToken(TokenCommand):
    label: str


@handles(RenameApiToken, reads=_token_reads)
def rename_api_token(cmd: RenameApiToken, now: datetime, token: TokenState) -> Decision:
    live = _live(cmd, token)
    check_token_name(cmd.label)
    if cmd.label == live.label:
        return Decision(result={"id": cmd.token_id})
    renamed = ApiTokenRenamed(cmd.token_id, cmd.organization_id, cmd.label)
    return Decision(
        changes=(Change(streams.api_token(cmd.token_hash), renamed),), result={"id": cmd.token_id}
    )


@dataclass(frozen=True)
class RotateApiToken(TokenCommand):
    """Replace the token by a new secret with the same name, kind and scopes, atomically.
    ``expires_in`` None keeps the old token's expiry."""

    new_hash: str
    new_last_characters: str
    expires_in: int | None = None


@handles(
    RotateApiToken,
    reads=lambda c: {**new_token_reads(c.organization_id, c.new_hash), **_token_reads(c)},
)
def rotate_api_token(
    cmd: RotateApiToken,
    now: datetime,
    registry: TokenRegistry,
    organization: OrganizationState,
    successor: TokenState,
    token: TokenState,
) -> Decision:
    live = _live(cmd, token)
    expires_at = live.expires_at if cmd.expires_in is None else token_expiry(now, cmd.expires_in)
    if expires_at is not None and datetime.fromisoformat(expires_at) <= now:
        raise InvalidCommand("The token has expired: give the new one an expiry")
    new = NewToken(
        cmd.organization_id,
        cmd.new_hash,
        cmd.new_last_characters,
        live.label,
        live.scopes,
        live.kind,
        expires_at,
    )
    created, changes = new_token_changes(registry, organization, successor, new)
    revoked = ApiTokenRevoked(
        cmd.token_id, cmd.organization_id, live.label, live.scopes, live.kind, created.token_id
    )
    return Decision(
        changes=(*changes, Change(streams.api_token(cmd.token_hash), revoked)),
        result={**token_result(created, now), "replaces": cmd.token_id},
    )
