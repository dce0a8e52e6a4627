"""Environments and the projects they are attached to (Sentry's ``Environment`` and
``EnvironmentProject``): what the environment routes list, and the organization's environment
names that ``?environment=`` filters must name.

An environment's id, and an attachment's, is the log position of the event that made it:
unique, stable across rebuilds, increasing like Sentry's sequences.
"""

from __future__ import annotations

from dataclasses import dataclass

from events import Recorded
from events.environments import EnvironmentCreated, EnvironmentProjectAdded, EnvironmentVisibilitySet
from projections.base import Projection, View, on

# Sentry's visibility filters: "visible" is every attachment not hidden (never set counts as shown).
VISIBILITY = {
    "all": "",
    "hidden": " AND ep.is_hidden = 1",
    "visible": " AND (ep.is_hidden IS NULL OR ep.is_hidden = 0)",
}


@dataclass(frozen=True)
class EnvironmentProjectRow:
    id: int
    name: str
    is_hidden: bool | None


def _flag(value: bool | None) -> int | None:
    return None if value is None else int(value)


class Environments(Projection):
    name = "environments"
    tables = {
        "environments": "id BIGINT PRIMARY KEY, organization_id BIGINT NOT NULL, name TEXT NOT NULL, "
        "UNIQUE (organization_id, name)",
        "environment_projects": "id BIGINT PRIMARY KEY, organization_id BIGINT NOT NULL, "
        "environment_id BIGINT NOT NULL, project_id BIGINT NOT NULL, name TEXT NOT NULL, "
        "is_hidden INTEGER, UNIQUE (project_id, name)",
    }
    indexes = ("{environment_projects} (organization_id, name)",)

    @on(EnvironmentCreated)
    def _created(self, view: View, rec: Recorded) -> None:
        e = rec.event
        assert isinstance(e, EnvironmentCreated)
        view.execute(
            "INSERT INTO {environments} (id, organization_id, name) VALUES (%s, %s, %s) "
            "ON CONFLICT (organization_id, name) DO NOTHING",
            (rec.position, e.organization_id, e.name),
        )

    @on(EnvironmentProjectAdded)
    def _attached(self, view: View, rec: Recorded) -> None:
        e = rec.event
        assert isinstance(e, EnvironmentProjectAdded)
        view.execute(
            "INSERT INTO {environment_projects} (id, organization_id, environment_id, project_id, name, "
            "is_hidden) SELECT %s, organization_id, id, %s, name, %s FROM {environments} "
            "WHERE organization_id = %s AND name = %s ON CONFLICT (project_id, name) DO NOTHING",
            (rec.position, e.project_id, _flag(e.is_hidden), e.organization_id, e.name),
        )

    @on(EnvironmentVisibilitySet)
    def _visibility(self, view: View, rec: Recorded) -> None:
        e = rec.event
        assert isinstance(e, EnvironmentVisibilitySet)
        view.executemany(
            "UPDATE {environment_projects} SET is_hidden = %s WHERE project_id = %s AND name = %s",
            [(int(e.is_hidden), e.project_id, name) for name in e.names],
        )


def project_environments(
    view: View, project_id: int, visibility: str = "all", names: list[str] | None = None
) -> list[EnvironmentProjectRow]:
    """The project's environments by name (the nameless one left out, as Sentry does), with
    ``visibility`` one of ``VISIBILITY``; ``names``: only those."""
    sql = (
        "SELECT ep.id, ep.name, ep.is_hidden FROM {environment_projects} ep "
        "WHERE ep.project_id = %s AND ep.name <> ''" + VISIBILITY[visibility]
    )
    params: list[object] = [project_id]
    if names is not None:
        if not names:
            return []
        sql += f" AND ep.name IN ({', '.join(['%s'] * len(names))})"
        params += names
    rows = view.execute(sql + " ORDER BY ep.name", params)
    return [EnvironmentProjectRow(i, n, None if h is None else bool(h)) for i, n, h in rows]


def organization_environments(
    view: View, organization_id: int, project_ids: tuple[int, ...], visibility: str
) -> list[tuple[int, str]]:
    """``(id, name)`` of the environments attached to one of ``project_ids`` by an attachment
    that passes ``visibility``, by name (the nameless one left out)."""
    if not project_ids:
        return []
    marks = ", ".join(["%s"] * len(project_ids))
    rows = view.execute(
        "SELECT e.id, e.name FROM {environments} e WHERE e.organization_id = %s AND e.name <> '' "
        "AND EXISTS (SELECT 1 FROM {environment_projects} ep WHERE ep.environment_id = e.id AND "
        f"ep.project_id IN ({marks}){VISIBILITY[visibility]}) ORDER BY e.name",
        (organization_id, *project_ids),
    )
    return [(int(i), str(n)) for i, n in rows]


def existing_names(view: View, organization_id: int, names: list[str]) -> set[str]:
    """The names among ``names`` the organization has an environment of (``get_environments``)."""
    if not names:
        return set()
    marks = ", ".join(["%s"] * len(names))
    rows = view.execute(
        f"SELECT name FROM {{environments}} WHERE organization_id = %s AND name IN ({marks})",
        (organization_id, *names),
    )
    return {str(r[0]) for r in rows}
