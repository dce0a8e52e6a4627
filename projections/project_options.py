"""Project options as Sentry stores them, with their history for time travel."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from events import Recorded
from events.option_registry import read_project_options
from events.projects import RELAY_REV_LASTCHANGE_OPTION, RELAY_REV_OPTION
from projections.base import Projection, View, on
from projections.option_changes import OPTION_EVENTS, new_value, option_change


class ProjectOptions(Projection):
    name = "project_options"
    tables = {
        "current": "project_id BIGINT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, "
        "position BIGINT NOT NULL, PRIMARY KEY (project_id, key)",
        # value NULL marks a removal; the newest row at or before a position is the value then.
        "history": "project_id BIGINT NOT NULL, key TEXT NOT NULL, position BIGINT NOT NULL, value TEXT, "
        "PRIMARY KEY (project_id, key, position)",
        # Every option write is a new config revision (Sentry's update_rev_for_option).
        "revisions": "project_id BIGINT NOT NULL, position BIGINT NOT NULL, last_change TEXT NOT NULL, "
        "PRIMARY KEY (project_id, position)",
        # Every key a project ever had: time travel looks each up by index instead of scanning
        # the project's whole history.
        "keys": "project_id BIGINT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (project_id, key)",
    }

    @on(*OPTION_EVENTS)
    def _option(self, view: View, rec: Recorded) -> None:
        _write(view, rec, *option_change(rec.event))


def _write(view: View, rec: Recorded, project_id: int, key: str, value: Any) -> None:
    """Writes are held and sent set-wise at the end of the batch (``View.write``); the values
    written are remembered for the batch, so an update reads each option once."""
    value = new_value(value, lambda: _current(view, project_id, key))
    _written(view)[(project_id, key)] = value
    view.write(
        "INSERT INTO {revisions} (project_id, position, last_change) VALUES (%s, %s, %s) "
        "ON CONFLICT (project_id, position) DO NOTHING",
        (project_id, rec.position, rec.at.isoformat()),
    )
    encoded = None if value is None else json.dumps(value)
    view.write(
        "INSERT INTO {history} (project_id, key, position, value) VALUES (%s, %s, %s, %s)",
        (project_id, key, rec.position, encoded),
    )
    view.write(
        "INSERT INTO {keys} (project_id, key) VALUES (%s, %s) ON CONFLICT DO NOTHING", (project_id, key)
    )
    if encoded is None:
        view.write("DELETE FROM {current} WHERE project_id = %s AND key = %s", (project_id, key))
        return
    view.write(
        "INSERT INTO {current} (project_id, key, value, position) VALUES (%s, %s, %s, %s) "
        "ON CONFLICT (project_id, key) DO UPDATE SET value = excluded.value, position = excluded.position",
        (project_id, key, encoded, rec.position),
    )


def _written(view: View) -> dict[tuple[int, str], Any]:
    """The option values this batch wrote (the view's scratch, dropped with a failed event)."""
    if view.pending is None:
        view.pending = {}
    written: dict[tuple[int, str], Any] = view.pending
    return written


def _current(view: View, project_id: int, key: str) -> Any:
    written = _written(view)
    if (project_id, key) in written:
        return written[(project_id, key)]
    rows = view.execute("SELECT value FROM {current} WHERE project_id = %s AND key = %s", (project_id, key))
    return json.loads(rows[0][0]) if rows else None


def options(view: View, project_id: int) -> dict[str, Any]:
    """The options as the registry types them (a value an older version stored unchecked
    reads as its type, or is left out when it is not one)."""
    rows = view.execute("SELECT key, value FROM {current} WHERE project_id = %s ORDER BY key", (project_id,))
    return read_project_options({key: json.loads(value) for key, value in rows})


def options_at(view: View, project_id: int, position: int) -> dict[str, Any]:
    """The options as they were right after log position ``position``."""
    rows = view.execute(
        "SELECT k.key, (SELECT h.value FROM {history} h WHERE h.project_id = k.project_id "
        "AND h.key = k.key AND h.position <= %s ORDER BY h.position DESC LIMIT 1) "
        "FROM {keys} k WHERE k.project_id = %s ORDER BY k.key",
        (position, project_id),
    )
    return read_project_options({key: json.loads(value) for key, value in rows if value is not None})


def relay_rev(project_id: int, position: int) -> str:
    """The revision a write made: uuid4-shaped hex, derived from its log position so that a
    rebuild of the view reproduces it (Sentry draws ``uuid4().hex`` when it writes the option)."""
    digest = hashlib.blake2b(f"relay-rev:{project_id}:{position}".encode(), digest_size=16).digest()
    return uuid.UUID(bytes=digest, version=4).hex


def revision(view: View, project_id: int, position: int | None = None) -> dict[str, str]:
    """``sentry:relay-rev`` and ``sentry:relay-rev-lastchange`` after the project's last option
    write (at or before ``position``); nothing if its options were never written."""
    rows = view.execute(
        "SELECT position, last_change FROM {revisions} WHERE project_id = %s AND position <= %s "
        "ORDER BY position DESC LIMIT 1",
        (project_id, position if position is not None else 2**62),
    )
    if not rows:
        return {}
    return {RELAY_REV_OPTION: relay_rev(project_id, rows[0][0]), RELAY_REV_LASTCHANGE_OPTION: rows[0][1]}
