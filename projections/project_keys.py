"""Project keys (client keys) of active projects: what the key routes and ``eventry keys list``
read. A removed key, or every key of a project pending deletion, leaves the view."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from events import Recorded
from events.project_keys import ProjectKeyCreated, ProjectKeyEvent, ProjectKeyRemoved
from events.projects import ProjectRemoved
from projections.base import Projection, View, on


@dataclass(frozen=True)
class KeyRow:
    key_id: int
    public_key: str
    secret_key: str
    project_id: int
    organization_id: int
    label: str
    status: int
    rate_limit_count: int | None
    rate_limit_window: int | None
    date_created: str
    browser_sdk_version: str | None = None  # None: the project's default
    loader_options: tuple[str, ...] = ()  # the JavaScript loader options that are on

    @classmethod
    def of(cls, row: tuple[Any, ...]) -> KeyRow:
        """A row of ``COLUMNS``; the loader options are stored comma-joined."""
        on = tuple(o for o in (row[-1] or "").split(",") if o)
        return replace(cls(*row[:-1]), loader_options=on)


COLUMNS = (
    "key_id, public_key, secret_key, project_id, organization_id, label, status, "
    "rate_limit_count, rate_limit_window, date_created, browser_sdk_version, loader_options"
)


class ProjectKeys(Projection):
    """Folds a batch in memory: a key created and changed in one batch is inserted once, as it
    stands at the end of it (a rebuild writes each key once, not once per event); keys from
    earlier batches are updated or removed set-wise."""

    name = "project_keys"
    tables = {
        "keys": "key_id BIGINT PRIMARY KEY, public_key TEXT NOT NULL UNIQUE, secret_key TEXT NOT NULL, "
        "project_id BIGINT NOT NULL, organization_id BIGINT NOT NULL, label TEXT NOT NULL, "
        "status INTEGER NOT NULL, rate_limit_count BIGINT, rate_limit_window BIGINT, "
        "date_created TEXT NOT NULL, browser_sdk_version TEXT, loader_options TEXT NOT NULL",
    }
    indexes = ("{keys} (project_id, key_id)",)

    @on(ProjectKeyCreated)
    def _created(self, view: View, rec: Recorded) -> None:
        e = rec.event
        assert isinstance(e, ProjectKeyCreated)
        row = KeyRow(e.key_id, e.public_key, e.secret_key, e.project_id, e.organization_id, e.label,
                     e.status, None, None, e.date_created or rec.stamp)  # fmt: skip
        view.scratch(_Pending).created[e.key_id] = _changed(row, e)

    @on(ProjectKeyRemoved)
    def _removed(self, view: View, rec: Recorded) -> None:
        e = rec.event
        assert isinstance(e, ProjectKeyRemoved)
        pending = view.scratch(_Pending)
        if pending.created.pop(e.key_id, None) is None:
            pending.updated.pop(e.key_id, None)
            pending.removed.add(e.key_id)

    @on(ProjectKeyEvent)
    def _updated(self, view: View, rec: Recorded) -> None:
        e = rec.event
        assert isinstance(e, ProjectKeyEvent)
        pending = view.scratch(_Pending)
        row = pending.created.get(e.key_id)
        if row is not None:
            pending.created[e.key_id] = _changed(row, e)
        else:  # an update carries every field it sets: the batch's last one is what stays
            pending.updated[e.key_id] = e

    @on(ProjectRemoved)
    def _project_removed(self, view: View, rec: Recorded) -> None:
        e = rec.event
        assert isinstance(e, ProjectRemoved)
        pending = view.scratch(_Pending)
        for held in (pending.created, pending.updated):
            for key_id in [k for k, v in held.items() if v.project_id == e.project_id]:
                del held[key_id]
        pending.removed_projects.add(e.project_id)

    def flush(self, view: View) -> None:
        """Removals first: what the batch created or updated after a removal outlives it, and
        an update that came before one was dropped with the key."""
        pending, view.pending = view.pending, None
        if not isinstance(pending, _Pending):
            return
        view.executemany(
            "DELETE FROM {keys} WHERE project_id = %s", sorted((p,) for p in pending.removed_projects)
        )
        view.executemany("DELETE FROM {keys} WHERE key_id = %s", sorted((k,) for k in pending.removed))
        view.executemany(
            "UPDATE {keys} SET label = %s, status = %s, rate_limit_count = %s, rate_limit_window = %s, "
            "browser_sdk_version = %s, loader_options = %s WHERE key_id = %s",
            [
                (
                    e.label,
                    e.status,
                    e.rate_limit_count,
                    e.rate_limit_window,
                    e.browser_sdk_version,
                    ",".join(e.loader_options),
                    key_id,
                )
                for key_id, e in sorted(pending.updated.items())
            ],
        )
        view.executemany(
            f"INSERT INTO {{keys}} ({COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [_values(row) for _, row in sorted(pending.created.items())],
        )


@dataclass
class _Pending:
    """What a batch changed, per key id (see ``ProjectKeys``)."""

    created: dict[int, KeyRow] = field(default_factory=dict)  # as they stand now
    updated: dict[int, ProjectKeyEvent] = field(default_factory=dict)  # earlier keys: last update
    removed: set[int] = field(default_factory=set)  # earlier keys
    removed_projects: set[int] = field(default_factory=set)


def _values(r: KeyRow) -> tuple[Any, ...]:
    """The row's values in the order of ``COLUMNS``."""
    return (r.key_id, r.public_key, r.secret_key, r.project_id, r.organization_id, r.label, r.status,
            r.rate_limit_count, r.rate_limit_window, r.date_created, r.browser_sdk_version,
            ",".join(r.loader_options))  # fmt: skip


def _changed(row: KeyRow, e: ProjectKeyEvent) -> KeyRow:
    """``row`` with what a key event sets (what the UPDATE of an earlier key sets)."""
    return replace(
        row,
        label=e.label,
        status=e.status,
        rate_limit_count=e.rate_limit_count,
        rate_limit_window=e.rate_limit_window,
        browser_sdk_version=e.browser_sdk_version,
        loader_options=tuple(e.loader_options),
    )


def list_keys(view: View, project_id: int, status: int | None = None) -> list[KeyRow]:
    """Newest first, as Sentry orders them (``-id``)."""
    where, params = "project_id = %s", [project_id]
    if status is not None:
        where += " AND status = %s"
        params.append(status)
    rows = view.execute(
        f"SELECT {COLUMNS} FROM {{keys}} WHERE {where} ORDER BY date_created DESC, key_id DESC", params
    )
    return [KeyRow.of(r) for r in rows]


def find_key(view: View, project_id: int, public_key: str) -> KeyRow | None:
    rows = view.execute(
        f"SELECT {COLUMNS} FROM {{keys}} WHERE project_id = %s AND public_key = %s", (project_id, public_key)
    )
    return KeyRow.of(rows[0]) if rows else None
