"""Project options as Sentry stores them, with their history for time travel."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from events import Recorded
from events.option_registry import read_project_options
from events.projects import RELAY_REV_LASTCHANGE_OPTION, RELAY_REV_OPTION
from projections.base import Projection, View, on
from projections.json_text import dumps
from projections.option_changes import OPTION_EVENTS, option_change


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

    def prepare(self, view: View, records: Sequence[Recorded]) -> None:
        """The values that the batch's updates (metric blocking) apply to, read in bulk."""
        batch = view.pending = Batch()
        updated: dict[str, set[int]] = {}
        for rec in records:
            if not isinstance(rec.event, OPTION_EVENTS):  # a caller may fold the whole log
                continue
            project_id, key, value = option_change(rec.event)
            if callable(value):
                updated.setdefault(key, set()).add(project_id)
        for key, project_ids in updated.items():
            batch.load(view, key, project_ids)

    @on(*OPTION_EVENTS)
    def _option(self, view: View, rec: Recorded) -> None:
        project_id, key, value = option_change(rec.event)
        view.scratch(Batch).change(view, rec, project_id, key, value)

    def flush(self, view: View) -> None:
        if isinstance(view.pending, Batch):
            view.pending.write(view)
        view.pending = None


@dataclass
class Batch:
    """What a batch of option events did: each option's value as the batch leaves it (read
    once, in bulk, where an update needs the value before), and the rows to add."""

    values: dict[tuple[int, str], Any] = field(default_factory=dict)  # None: no value
    changed: dict[tuple[int, str], tuple[str | None, int]] = field(default_factory=dict)
    history: list[tuple[int, str, int, str | None]] = field(default_factory=list)
    revisions: list[tuple[int, int, str]] = field(default_factory=list)

    def load(self, view: View, key: str, project_ids: Iterable[int]) -> None:
        wanted = sorted(p for p in project_ids if (p, key) not in self.values)
        for chunk in _chunks(wanted):
            self.values.update(dict.fromkeys(((p, key) for p in chunk), None))
            marks = _marks(chunk)
            rows = view.execute(
                f"SELECT project_id, value FROM {{current}} WHERE key = %s AND project_id IN ({marks})",
                (key, *chunk),
            )
            self.values.update(((p, key), json.loads(value)) for p, value in rows)

    def change(self, view: View, rec: Recorded, project_id: int, key: str, value: Any) -> None:
        option, position = (project_id, key), rec.position
        assert position is not None
        if callable(value):  # an update of the value before (loaded by ``prepare``)
            if option not in self.values:  # (a handler of one event, without prepare)
                self.load(view, key, (project_id,))
            value = value(self.values[option])  # ``new_value`` of an update
        self.values[option] = value
        encoded = None if value is None else dumps(value)
        self.changed[option] = (encoded, position)
        self.history.append((project_id, key, position, encoded))
        self.revisions.append((project_id, position, rec.stamp))

    def write(self, view: View) -> None:
        """One statement per table, each a set of rows."""
        # Plain INSERTs (COPY on PostgreSQL): an event is applied once, and makes one row of each.
        view.executemany(
            "INSERT INTO {revisions} (project_id, position, last_change) VALUES (%s, %s, %s)",
            self.revisions,
        )
        view.executemany(
            "INSERT INTO {history} (project_id, key, position, value) VALUES (%s, %s, %s, %s)", self.history
        )
        view.executemany(
            "INSERT INTO {keys} (project_id, key) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            sorted(self.changed),
        )
        view.executemany(
            "DELETE FROM {current} WHERE project_id = %s AND key = %s",
            [k for k, (encoded, _) in sorted(self.changed.items()) if encoded is None],
        )
        view.executemany(
            "INSERT INTO {current} (project_id, key, value, position) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (project_id, key) DO UPDATE SET value = excluded.value, "
            "position = excluded.position",
            [(*k, encoded, at) for k, (encoded, at) in sorted(self.changed.items()) if encoded is not None],
        )


def _chunks(ids: list[int], size: int = 500) -> Iterator[list[int]]:
    """Within every SQLite's limit of bound parameters."""
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


def _marks(chunk: list[int]) -> str:
    return ", ".join(["%s"] * len(chunk))


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
