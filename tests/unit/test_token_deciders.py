"""Token deciders: given events / when a command / then events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from commands import InvalidCommand, NotFound, decide
from commands.base import Conflict
from commands.organizations import CreateApiToken, OrganizationState, TokenRegistry, TokenState
from commands.tokens import RenameApiToken, RevokeApiToken, RotateApiToken
from events import from_payload, streams
from events.organizations import (
    ORG_TOKEN,
    USER_TOKEN,
    ApiTokenCreated,
    ApiTokenIdAllocated,
    ApiTokenRenamed,
    ApiTokenRevoked,
    OrganizationCreated,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
OID = 7
ORG = OrganizationState.fold([OrganizationCreated(OID, "acme", "Acme")])
H1, H2 = "a" * 64, "b" * 64
CI = ApiTokenCreated(3, OID, H1, "wxyz", "ci", ("org:ci",), ORG_TOKEN)
REGISTRY = TokenRegistry.fold([ApiTokenIdAllocated(i) for i in (1, 2, 3)])


def create(**changes: object) -> list[object]:
    fields: dict[str, object] = {
        "organization_id": OID,
        "token_hash": H2,
        "token_last_characters": "abcd",
        "label": "deploys",
        "scopes": ("project:write", "org:read"),
    }
    cmd = CreateApiToken(**{**fields, **changes})  # type: ignore[arg-type]
    states = {"registry": REGISTRY, "organization": ORG, "successor": TokenState()}
    return [c.event for c in decide(cmd, NOW, states).changes]


def test_a_token_gets_the_next_id_its_scopes_in_order_and_its_expiry() -> None:
    assert create(expires_in=30 * 86400) == [
        ApiTokenIdAllocated(4),
        ApiTokenCreated(
            4,
            OID,
            H2,
            "abcd",
            "deploys",
            ("org:read", "project:write"),
            USER_TOKEN,
            "2026-01-31T00:00:00+00:00",
        ),
    ]
    assert create()[1].expires_at is None  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"label": ""}, "The name cannot be blank."),
        ({"label": "n" * 256}, "The name cannot be longer than 255 characters."),
        ({"scopes": ()}, "A token needs at least one scope"),
        ({"scopes": ("root",)}, "Invalid scopes: root"),
        ({"kind": "robot"}, "Unknown token kind: robot"),
        (
            {"token_hash": "secret"},
            "A token is stored as the SHA-256 of its secret and its last 4 characters",
        ),
        ({"expires_in": 0}, "The expiry must be between 1 second and 36600 days"),
        ({"expires_in": 10**12}, "The expiry must be between 1 second and 36600 days"),
    ],
)
def test_what_would_not_be_a_usable_token_is_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidCommand) as raised:
        create(**changes)
    assert raised.value.detail == message


def test_the_same_secret_twice_is_a_conflict() -> None:
    cmd = CreateApiToken(OID, H1, "wxyz", "again", ("org:ci",))
    states = {"registry": REGISTRY, "organization": ORG, "successor": TokenState.fold([CI])}
    with pytest.raises(Conflict):
        decide(cmd, NOW, states)


def test_revoke_and_rename_address_one_live_token_of_the_organization() -> None:
    live = {"token": TokenState.fold([CI])}
    revoked = decide(RevokeApiToken(OID, 3, H1), NOW, live)
    assert [(c.stream, c.event) for c in revoked.changes] == [
        (streams.api_token(H1), ApiTokenRevoked(3, OID, "ci", ("org:ci",), ORG_TOKEN))
    ]
    assert [c.event for c in decide(RenameApiToken(OID, 3, H1, "cd"), NOW, live).changes] == [
        ApiTokenRenamed(3, OID, "cd")
    ]
    assert decide(RenameApiToken(OID, 3, H1, "ci"), NOW, live).changes == ()  # unchanged
    gone = {"token": TokenState.fold([CI, ApiTokenRevoked(3, OID, "ci", ("org:ci",), ORG_TOKEN)])}
    for cmd in (RevokeApiToken(OID, 3, H1), RevokeApiToken(8, 3, H1), RevokeApiToken(OID, 4, H1)):
        with pytest.raises(NotFound):
            decide(cmd, NOW, gone if cmd.organization_id == OID and cmd.token_id == 3 else live)


def rotate(given: list[ApiTokenCreated], expires_in: int | None = None) -> list[object]:
    cmd = RotateApiToken(OID, 3, H1, H2, "efgh", expires_in)
    states = {
        "registry": REGISTRY,
        "organization": ORG,
        "token": TokenState.fold(given),
        "successor": TokenState(),
    }
    return [c.event for c in decide(cmd, NOW, states).changes]


def test_rotation_makes_the_same_token_anew_and_revokes_the_old_in_one_append() -> None:
    assert rotate([CI]) == [
        ApiTokenIdAllocated(4),
        ApiTokenCreated(4, OID, H2, "efgh", "ci", ("org:ci",), ORG_TOKEN, None),
        ApiTokenRevoked(3, OID, "ci", ("org:ci",), ORG_TOKEN, rotated_to=4),
    ]


def test_an_expired_token_rotates_only_to_a_new_expiry() -> None:
    expired = ApiTokenCreated(
        3, OID, H1, "wxyz", "ci", ("org:ci",), USER_TOKEN, (NOW - timedelta(days=1)).isoformat()
    )
    with pytest.raises(InvalidCommand):
        rotate([expired])
    assert rotate([expired], 3600)[1].expires_at == (NOW + timedelta(hours=1)).isoformat()  # type: ignore[attr-defined]


def test_v1_token_events_read_as_user_tokens_that_never_expire() -> None:
    payload = {
        "token_id": 1,
        "organization_id": OID,
        "token_hash": H1,
        "token_last_characters": "wxyz",
        "label": "old",
        "scopes": ["org:read"],
    }
    assert from_payload("organizations.ApiTokenCreated.v1", payload) == ApiTokenCreated(
        1, OID, H1, "wxyz", "old", ("org:read",), USER_TOKEN, None
    )
