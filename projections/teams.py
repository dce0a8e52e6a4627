"""Teams and the teams each project belongs to: what team routes and project details read."""

from __future__ import annotations

from dataclasses import dataclass

from events import Recorded
from events.teams import ProjectTeamAdded, TeamCreated
from projections.base import Projection, View, on


@dataclass(frozen=True)
class TeamRow:
    id: int
    organization_id: int
    slug: str
    name: str
    date_created: str


class Teams(Projection):
    name = "teams"
    tables = {
        "teams": "id BIGINT PRIMARY KEY, organization_id BIGINT NOT NULL, slug TEXT NOT NULL, "
        "name TEXT NOT NULL, date_created TEXT NOT NULL",
        "project_teams": "project_id BIGINT NOT NULL, team_id BIGINT NOT NULL, "
        "organization_id BIGINT NOT NULL, PRIMARY KEY (project_id, team_id)",
    }
    indexes = ("{teams} (organization_id, slug)", "{project_teams} (team_id)")

    @on(TeamCreated)
    def _team(self, view: View, rec: Recorded) -> None:
        e = rec.event
        assert isinstance(e, TeamCreated)
        view.execute(
            "INSERT INTO {teams} (id, organization_id, slug, name, date_created) VALUES (%s, %s, %s, %s, %s)",
            (e.team_id, e.organization_id, e.slug, e.name, rec.stamp),
        )

    @on(ProjectTeamAdded)
    def _project_team(self, view: View, rec: Recorded) -> None:
        e = rec.event
        assert isinstance(e, ProjectTeamAdded)
        view.execute(
            "INSERT INTO {project_teams} (project_id, team_id, organization_id) VALUES (%s, %s, %s)",
            (e.project_id, e.team_id, e.organization_id),
        )


COLUMNS = "id, organization_id, slug, name, date_created"


def find_team(view: View, organization_id: int, slug: str) -> TeamRow | None:
    rows = view.execute(
        f"SELECT {COLUMNS} FROM {{teams}} WHERE organization_id = %s AND slug = %s", (organization_id, slug)
    )
    return TeamRow(*rows[0]) if rows else None


def list_teams(view: View, organization_id: int) -> list[TeamRow]:
    rows = view.execute(
        f"SELECT {COLUMNS} FROM {{teams}} WHERE organization_id = %s ORDER BY slug", (organization_id,)
    )
    return [TeamRow(*r) for r in rows]


def project_teams(view: View, project_ids: list[int]) -> dict[int, list[TeamRow]]:
    """Each project's teams, by slug (Sentry orders a project's teams by slug)."""
    found: dict[int, list[TeamRow]] = {p: [] for p in project_ids}
    if not project_ids:
        return found
    marks = ", ".join(["%s"] * len(project_ids))
    rows = view.execute(
        "SELECT pt.project_id, t.id, t.organization_id, t.slug, t.name, t.date_created "
        f"FROM {{project_teams}} pt JOIN {{teams}} t ON t.id = pt.team_id WHERE pt.project_id IN ({marks}) "
        "ORDER BY t.slug",
        tuple(project_ids),
    )
    for project_id, *team in rows:
        found[project_id].append(TeamRow(*team))
    return found


def team_projects(view: View, team_ids: list[int]) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {t: [] for t in team_ids}
    if not team_ids:
        return found
    marks = ", ".join(["%s"] * len(team_ids))
    rows = view.execute(
        f"SELECT team_id, project_id FROM {{project_teams}} WHERE team_id IN ({marks}) ORDER BY project_id",
        tuple(team_ids),
    )
    for team_id, project_id in rows:
        found[team_id].append(project_id)
    return found
