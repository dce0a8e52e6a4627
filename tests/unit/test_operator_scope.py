"""The console's operator scope: granted by ``CreateApiToken(operator=True)`` (the command line
only), refused among the scopes any caller passes, kept by a rotation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from commands import InvalidCommand, decide
from commands.organizations import (
    OPERATOR_SCOPE,
    CreateApiToken,
    OrganizationState,
    TokenRegistry,
    TokenState,
)
from commands.tokens import RotateApiToken
from events.organizations import ApiTokenCreated, OrganizationCreated

NOW = datetime(2026, 1, 1, tzinfo=UTC)
ORG = OrganizationState.fold([OrganizationCreated(7, "acme", "Acme")])
H1, H2 = "a" * 64, "b" * 64


def created(cmd: CreateApiToken) -> ApiTokenCreated:
    states = {"registry": TokenRegistry(), "organization": ORG, "successor": TokenState()}
    event = decide(cmd, NOW, states).changes[-1].event
    assert isinstance(event, ApiTokenCreated)
    return event


def test_only_the_operator_flag_grants_the_operator_scope() -> None:
    plain = CreateApiToken(7, H1, "wxyz", "ops", ("org:read",))
    assert created(plain).scopes == ("org:read",)
    assert created(CreateApiToken(7, H1, "wxyz", "ops", ("org:read",), operator=True)).scopes == (
        "org:read",
        OPERATOR_SCOPE,
    )
    with pytest.raises(InvalidCommand, match=f"Invalid scopes: {OPERATOR_SCOPE}"):
        created(CreateApiToken(7, H1, "wxyz", "ops", ("org:read", OPERATOR_SCOPE)))


def test_a_rotated_operator_token_stays_one() -> None:
    token = created(CreateApiToken(7, H1, "wxyz", "ops", ("org:read",), operator=True))
    states = {
        "registry": TokenRegistry.fold([]),
        "organization": ORG,
        "successor": TokenState(),
        "token": TokenState.fold([token]),
    }
    changes = decide(RotateApiToken(7, token.token_id, H1, H2, "abcd"), NOW, states).changes
    successor = [c.event for c in changes if isinstance(c.event, ApiTokenCreated)]
    assert [e.scopes for e in successor] == [("org:read", OPERATOR_SCOPE)]
