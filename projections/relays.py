"""Registered relays, for operators (``eventry relays list``)."""

from __future__ import annotations

from typing import Any

from events import Recorded
from events.relays import RelayRegistered, RelayVersionChanged
from projections.base import Projection, View, on


class Relays(Projection):
    name = "relays"
    tables = {
        "relays": "relay_id TEXT PRIMARY KEY, public_key TEXT NOT NULL, version TEXT NOT NULL, "
        "internal INTEGER NOT NULL, first_seen TEXT NOT NULL, last_seen TEXT NOT NULL",
    }

    @on(RelayRegistered)
    def _registered(self, view: View, rec: Recorded) -> None:
        e = rec.event
        assert isinstance(e, RelayRegistered)
        at = rec.stamp
        view.execute(
            "INSERT INTO {relays} (relay_id, public_key, version, internal, first_seen, last_seen) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (relay_id) DO UPDATE SET "
            "internal = excluded.internal, version = excluded.version, last_seen = excluded.last_seen",
            (e.relay_id, e.public_key, e.version, int(e.internal), at, at),
        )

    @on(RelayVersionChanged)
    def _version(self, view: View, rec: Recorded) -> None:
        e = rec.event
        assert isinstance(e, RelayVersionChanged)
        view.execute(
            "UPDATE {relays} SET version = %s, last_seen = %s WHERE relay_id = %s",
            (e.version, rec.stamp, e.relay_id),
        )


def list_relays(view: View) -> list[dict[str, Any]]:
    columns = ("relay_id", "public_key", "version", "internal", "first_seen", "last_seen")
    rows = view.execute(f"SELECT {', '.join(columns)} FROM {{relays}} ORDER BY first_seen")
    return [{**dict(zip(columns, row, strict=True)), "internal": bool(row[3])} for row in rows]
