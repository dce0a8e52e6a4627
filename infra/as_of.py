"""A project's options and relay config as they were right after a log position.

Nothing is re-implemented: the project's events up to that position (its own stream, its keys',
its organization's, found through the ``org_events`` index) are folded by the very projections
that serve these reads today, ``project_options`` and ``relay_configs``, into a private
in-memory SQLite view. So "as of N" is exactly what those views held when they had applied N.
"""

from __future__ import annotations

import difflib
import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID

from events import Recorded
from infra.db import _SqliteTx
from infra.eventstore import EventStore
from projections import ProjectOptions, RelayConfigs, View
from projections.org_events import LoggedEvent
from projections.project_options import options
from projections.relay_configs import project_documents


@dataclass(frozen=True)
class ProjectAt:
    position: int
    options: dict[str, Any]
    relay_configs: list[dict[str, Any]]  # one document per public key


def with_positions(store: EventStore, index: Iterable[LoggedEvent]) -> list[Recorded]:
    """The indexed events read from the log, with their positions, in log order: one read of
    each stream's span of versions."""
    wanted: dict[str, dict[int, int]] = defaultdict(dict)
    for row in index:
        wanted[row.stream][row.version] = row.position
    found = []
    for stream, versions in wanted.items():
        for rec in store.read_versions(UUID(stream), min(versions), max(versions)):
            if rec.version in versions:
                found.append(replace(rec, position=versions[rec.version]))
    return sorted(found, key=lambda r: r.position or 0)


def project_at(store: EventStore, history: list[LoggedEvent], project_id: int, position: int) -> ProjectAt:
    """Fold ``history`` (``org_events.project_history``) up to ``position``."""
    records = with_positions(store, (row for row in history if row.position <= position))
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        tx = _SqliteTx(conn)
        views = {}
        for projection in (ProjectOptions(), RelayConfigs()):
            tables = {t: f"{projection.name}_{t}" for t in projection.tables}
            for statement in projection.ddl(tables):
                tx.execute(statement)
            view = views[projection.name] = View(tx, tables)
            for rec in records:
                projection.apply(view, rec)
        docs = [json.loads(d) for d in project_documents(views["relay_configs"], project_id)]
        return ProjectAt(position, options(views["project_options"], project_id), docs)
    finally:
        conn.close()


def diff(before: ProjectAt, after: ProjectAt) -> list[str]:
    """A unified diff of the two states, options then relay configs, as pretty-printed JSON."""
    lines: list[str] = []
    for name in ("options", "relay_configs"):
        old = json.dumps(getattr(before, name), indent=2, sort_keys=True).splitlines()
        new = json.dumps(getattr(after, name), indent=2, sort_keys=True).splitlines()
        lines += difflib.unified_diff(
            old, new, f"{name} at {before.position}", f"{name} at {after.position}", lineterm=""
        )
    return lines
