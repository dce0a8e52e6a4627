"""Project keys (client keys) of active projects: what the key routes and ``eventry keys list``
read. A removed key, or every key of a project pending deletion, leaves the view."""

from __future__ import annotations

from dataclasses import dataclass, replace
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
        view.write(
            f"INSERT INTO {{keys}} ({COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                e.key_id,
                e.public_key,
                e.secret_key,
                e.project_id,
                e.organization_id,
                e.label,
                e.status,
                e.rate_limit_count,
                e.rate_limit_window,
                e.date_created or rec.stamp,
                e.browser_sdk_version,
                ",".join(e.loader_options),
            ),
        )

    @on(ProjectKeyRemoved)
    def _removed(self, view: View, rec: Recorded) -> None:
        e = rec.event
        assert isinstance(e, ProjectKeyRemoved)
        view.write("DELETE FROM {keys} WHERE key_id = %s", (e.key_id,))

    @on(ProjectKeyEvent)
    def _updated(self, view: View, rec: Recorded) -> None:
        e = rec.event
        assert isinstance(e, ProjectKeyEvent)
        view.write(
            "UPDATE {keys} SET label = %s, status = %s, rate_limit_count = %s, rate_limit_window = %s, "
            "browser_sdk_version = %s, loader_options = %s WHERE key_id = %s",
            (
                e.label,
                e.status,
                e.rate_limit_count,
                e.rate_limit_window,
                e.browser_sdk_version,
                ",".join(e.loader_options),
                e.key_id,
            ),
        )

    @on(ProjectRemoved)
    def _project_removed(self, view: View, rec: Recorded) -> None:
        e = rec.event
        assert isinstance(e, ProjectRemoved)
        view.write("DELETE FROM {keys} WHERE project_id = %s", (e.project_id,))


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
