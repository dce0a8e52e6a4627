"""Teams: their creation, and projects created for a team (Sentry's team-scoped project route)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, ClassVar, Self

from commands.base import Change, Command, Decision, FieldErrors, IdCollision, NotFound, State, handles
from commands.organizations import CreateProject, OrganizationState, create_project
from commands.project_keys import reservation_reads
from commands.slugs import MIXED_SLUG_PATTERN, unique_slug
from events import Event, streams
from events.projects import ProjectCreated
from events.teams import ProjectTeamAdded, TeamCreated

TEAM_SLUG_MAX_LENGTH = 50  # DEFAULT_SLUG_MAX_LENGTH
TEAM_NAME_MAX_LENGTH = 64
CONFLICTING_SLUG_ERROR = "A team with this slug already exists."
NAME_OR_SLUG_REQUIRED = "Name or slug is required"
SLUG_INVALID = (
    "Enter a valid slug consisting of lowercase letters, numbers, underscores or hyphens. "
    "It cannot be entirely numeric."
)


class SlugConflict(FieldErrors):
    """409 in Sentry's shape for a taken team slug: ``non_field_errors`` and ``detail``."""

    status: ClassVar[int] = 409


@dataclass(frozen=True)
class TeamRow:
    team_id: int
    slug: str
    name: str


@dataclass(frozen=True)
class TeamsState(State):
    """An organization's teams, by slug."""

    teams: dict[str, TeamRow] = field(default_factory=dict)

    def evolve(self, event: Event) -> Self:
        if isinstance(event, TeamCreated):
            row = TeamRow(event.team_id, event.slug, event.name)
            return replace(self, teams={**self.teams, event.slug: row})
        return self

    def by_id(self, team_id: int) -> TeamRow | None:
        return next((t for t in self.teams.values() if t.team_id == team_id), None)


def team_field_errors(slug: str | None, name: str | None) -> dict[str, list[str]]:
    """``TeamPostSerializer``: the fields' own validators, then ``validate`` (name or slug)."""
    errors: dict[str, list[str]] = {}
    if slug:
        if len(slug) > TEAM_SLUG_MAX_LENGTH:
            errors["slug"] = [f"Ensure this field has no more than {TEAM_SLUG_MAX_LENGTH} characters."]
        elif not MIXED_SLUG_PATTERN.match(slug):
            errors["slug"] = [SLUG_INVALID]
    if name and len(name) > TEAM_NAME_MAX_LENGTH:
        errors["name"] = [f"Ensure this field has no more than {TEAM_NAME_MAX_LENGTH} characters."]
    if not errors and not (slug or name):
        errors["non_field_errors"] = [NAME_OR_SLUG_REQUIRED]
    return errors


@dataclass(frozen=True)
class CreateTeam(Command):
    """``slug``/``name`` as sent (either may be missing); a missing slug is derived from the
    name as ``slugify_instance`` does, from the random ``slug_suffixes``/``fallback_slug``."""

    organization_id: int
    team_id: int
    slug: str | None
    name: str | None
    slug_suffixes: tuple[str, ...] = ()
    fallback_slug: str = ""


@handles(
    CreateTeam,
    reads=lambda c: {
        "organization": (streams.organization(c.organization_id), OrganizationState),
        "teams": (streams.teams(c.organization_id), TeamsState),
    },
)
def create_team(
    cmd: CreateTeam, now: datetime, organization: OrganizationState, teams: TeamsState
) -> Decision:
    if not organization.exists:
        raise NotFound("The requested resource does not exist")
    errors = team_field_errors(cmd.slug, cmd.name)
    if errors:
        raise FieldErrors(errors)
    if teams.by_id(cmd.team_id) is not None:  # a snowflake collision: drawn again and retried
        raise IdCollision("Max allowed ID retry reached. Please try again in a second")
    name = cmd.name or cmd.slug or ""
    slug = cmd.slug or unique_slug(
        name, lambda s: s in teams.teams, cmd.slug_suffixes, cmd.fallback_slug, reserved=frozenset(),
        max_length=TEAM_SLUG_MAX_LENGTH,
    )  # fmt: skip
    if slug is None or slug in teams.teams:
        raise SlugConflict({"non_field_errors": [CONFLICTING_SLUG_ERROR], "detail": CONFLICTING_SLUG_ERROR})
    created = TeamCreated(cmd.organization_id, cmd.team_id, slug, name)
    return Decision(
        changes=(Change(streams.teams(cmd.organization_id), created),),
        result={"id": cmd.team_id, "slug": slug, "name": name, "date_created": now.isoformat()},
    )


@dataclass(frozen=True)
class CreateTeamProject(Command):
    """``POST /teams/{org}/{team}/projects/``: the project, made as ``CreateProject`` makes it,
    belongs to the team from its first event on."""

    team_id: int
    project: CreateProject


def _team_project_reads(c: CreateTeamProject) -> dict[str, tuple[Any, type[State]]]:
    p = c.project
    reads: dict[str, tuple[Any, type[State]]] = {
        "organization": (streams.organization(p.organization_id), OrganizationState),
        "existing": (streams.project(p.project_id), _ProjectExistence),
        "teams": (streams.teams(p.organization_id), TeamsState),
    }
    return {**reads, **reservation_reads(p.default_key)} if p.default_key else reads


@dataclass(frozen=True)
class _ProjectExistence(State):
    created: bool = False

    def evolve(self, event: Event) -> Self:
        return replace(self, created=True) if isinstance(event, ProjectCreated) else self


@handles(CreateTeamProject, reads=_team_project_reads)
def create_team_project(cmd: CreateTeamProject, now: datetime, teams: TeamsState, **states: Any) -> Decision:
    team = teams.by_id(cmd.team_id)
    if team is None:
        raise NotFound("The requested resource does not exist")
    decision = create_project(cmd.project, now, **states)
    p = cmd.project
    added = ProjectTeamAdded(p.project_id, p.organization_id, team.team_id, team.slug)
    return replace(
        decision,
        changes=(*decision.changes, Change(streams.project(p.project_id), added)),
        result={**decision.result, "teams": [{"id": team.team_id, "slug": team.slug, "name": team.name}]},
    )
