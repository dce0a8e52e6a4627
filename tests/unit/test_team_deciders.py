"""Team deciders: given events / when a command / then events."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from commands import NotFound, decide
from commands.base import FieldErrors, IdCollision
from commands.organizations import CreateProject, OrganizationState
from commands.teams import CreateTeam, CreateTeamProject, SlugConflict, TeamsState, _ProjectExistence
from events import streams
from events.organizations import OrganizationCreated, ProjectSlugReserved
from events.projects import ProjectCreated
from events.teams import ProjectTeamAdded, TeamCreated

NOW = datetime(2026, 1, 1, tzinfo=UTC)
OID, TID, PID = 7, 300, 101
ORG = OrganizationState.fold([OrganizationCreated(OID, "acme", "Acme")])
BACKEND = TeamCreated(OID, TID, "backend", "Backend")


def create(slug: str | None, name: str | None, *given: TeamCreated, team_id: int = 301) -> list[object]:
    cmd = CreateTeam(OID, team_id, slug, name, ("xy", "zw"), "f" * 12)
    decision = decide(cmd, NOW, {"organization": ORG, "teams": TeamsState.fold(given)})
    assert all(c.stream == streams.teams(OID) for c in decision.changes)
    return [c.event for c in decision.changes]


def test_a_team_named_gets_its_slug_from_the_name() -> None:
    assert create(None, "Front End") == [TeamCreated(OID, 301, "front-end", "Front End")]


def test_a_team_given_a_slug_is_named_after_it() -> None:
    assert create("ops", None) == [TeamCreated(OID, 301, "ops", "ops")]


def test_a_name_whose_slug_is_taken_gets_a_suffix() -> None:
    assert create(None, "Backend", BACKEND) == [TeamCreated(OID, 301, "backend-xy", "Backend")]


def test_a_taken_slug_is_a_conflict() -> None:
    with pytest.raises(SlugConflict) as raised:
        create("backend", None, BACKEND)
    assert raised.value.status == 409
    assert raised.value.errors["detail"] == "A team with this slug already exists."


@pytest.mark.parametrize(
    ("slug", "name", "field"),
    [(None, None, "non_field_errors"), (None, "", "non_field_errors"), ("Up", None, "slug"),
     ("1234", None, "slug"), ("s" * 51, None, "slug"), (None, "n" * 65, "name")],
)  # fmt: skip
def test_invalid_teams_are_refused(slug: str | None, name: str | None, field: str) -> None:
    with pytest.raises(FieldErrors) as raised:
        create(slug, name)
    assert list(raised.value.errors) == [field]


def test_a_drawn_team_id_already_used_is_drawn_again() -> None:
    with pytest.raises(IdCollision):
        create("other", None, BACKEND, team_id=TID)


def team_project(*given: TeamCreated, team_id: int = TID) -> list[object]:
    cmd = CreateTeamProject(team_id, CreateProject(OID, PID, "Web", "python", ("xy",), "f" * 12))
    states = {"organization": ORG, "existing": _ProjectExistence(), "teams": TeamsState.fold(given)}
    return [c.event for c in decide(cmd, NOW, states).changes]


def test_a_project_of_a_team_belongs_to_it() -> None:
    assert team_project(BACKEND) == [
        ProjectSlugReserved(OID, PID, "web"),
        ProjectCreated(PID, OID, "web", "Web", "python"),
        ProjectTeamAdded(PID, OID, TID, "backend"),
    ]


def test_a_project_of_an_unknown_team_is_not_found() -> None:
    with pytest.raises(NotFound):
        team_project(BACKEND, team_id=999)
