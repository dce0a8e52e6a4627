"""Every API token of an organization: what it is, when it expires, and whether it was revoked.

The secret's hash is kept so that an operator or route naming a token by id can address its
stream (``events.streams.api_token``). When a token was last used is not here: it changes on
requests, not on events (``infra.token_usage``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from events import Recorded
from events.organizations import ApiTokenCreated, ApiTokenRenamed, ApiTokenRevoked
from projections.base import Projection, View, on


@dataclass(frozen=True)
class TokenRow:
    id: int
    organization_id: int
    kind: str
    name: str
    scopes: tuple[str, ...]
    token_hash: str
    last_characters: str
    date_created: str
    expires_at: str | None
    date_deactivated: str | None

    def status(self, now: str) -> str:
        """``revoked``, ``expired`` (as of ``now``, an ISO time in UTC) or ``active``."""
        if self.date_deactivated is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


class Tokens(Projection):
    name = "tokens"
    tables = {
        "tokens": "id BIGINT PRIMARY KEY, organization_id BIGINT NOT NULL, kind TEXT NOT NULL, "
        "name TEXT NOT NULL, scopes TEXT NOT NULL, token_hash TEXT NOT NULL, "
        "last_characters TEXT NOT NULL, date_created TEXT NOT NULL, expires_at TEXT, "
        "date_deactivated TEXT",
    }
    indexes = ("{tokens} (organization_id, id)",)

    @on(ApiTokenCreated)
    def _created(self, view: View, rec: Recorded) -> None:
        e = rec.event
        assert isinstance(e, ApiTokenCreated)
        view.execute(
            "INSERT INTO {tokens} (id, organization_id, kind, name, scopes, token_hash, last_characters, "
            "date_created, expires_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                e.token_id,
                e.organization_id,
                e.kind,
                e.label,
                json.dumps(list(e.scopes)),
                e.token_hash,
                e.token_last_characters,
                rec.stamp,
                e.expires_at,
            ),
        )

    @on(ApiTokenRenamed)
    def _renamed(self, view: View, rec: Recorded) -> None:
        e = rec.event
        assert isinstance(e, ApiTokenRenamed)
        view.execute("UPDATE {tokens} SET name = %s WHERE id = %s", (e.label, e.token_id))

    @on(ApiTokenRevoked)
    def _revoked(self, view: View, rec: Recorded) -> None:
        e = rec.event
        assert isinstance(e, ApiTokenRevoked)
        view.execute("UPDATE {tokens} SET date_deactivated = %s WHERE id = %s", (rec.stamp, e.token_id))


COLUMNS = (
    "id, organization_id, kind, name, scopes, token_hash, last_characters, date_created, "
    "expires_at, date_deactivated"
)


def _row(r: tuple[object, ...]) -> TokenRow:
    fields = list(r)
    fields[4] = tuple(json.loads(str(fields[4])))
    return TokenRow(*fields)  # type: ignore[arg-type]


def list_tokens(view: View, organization_id: int, kind: str | None = None) -> list[TokenRow]:
    """The organization's tokens by id, revoked ones too; only those of ``kind`` if given."""
    where, params = "organization_id = %s", list[object]([organization_id])
    if kind is not None:
        where, params = where + " AND kind = %s", [*params, kind]
    rows = view.execute(f"SELECT {COLUMNS} FROM {{tokens}} WHERE {where} ORDER BY id", params)
    return [_row(r) for r in rows]


def find_token(view: View, organization_id: int, token_id: int) -> TokenRow | None:
    rows = view.execute(
        f"SELECT {COLUMNS} FROM {{tokens}} WHERE organization_id = %s AND id = %s",
        (organization_id, token_id),
    )
    return _row(rows[0]) if rows else None
