"""Releases: create (organization and project level), update, set commits, delete, deploys,
repositories (sentry-behaviour 4)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Self

from commands.base import Change, Command, Decision, FieldErrors, NotFound, State, handles
from commands.environments import INVALID_ENVIRONMENT, EnvironmentsState, ensure_environment, is_valid_name
from commands.groups import GroupState
from commands.release_commits import CommitsInput, RepositoriesState, head_commit_refs, set_commits_changes
from events import Event
from events.environments import environments_stream
from events.groups import group_stream
from events.releases import (
    DeployCreated,
    ReleaseCommitsSet,
    ReleaseCreated,
    ReleaseDeleted,
    ReleaseHeadCommitsSet,
    ReleaseProjectsAdded,
    ReleaseUpdated,
    RepositoryAdded,
    RepositoryLocationClaimed,
    release_stream,
    repositories_stream,
    repository_location_stream,
)

MAX_VERSION_LENGTH = 200
BAD_RELEASE_CHARS = "\r\n\f\x0c\t/\\"
NOT_FOUND = "The requested resource does not exist"
STATUSES = ("open", "archived")


def is_valid_version(version: str | None) -> bool:
    """``Release.is_valid_version``."""
    if version is None or any(c in version for c in BAD_RELEASE_CHARS):
        return False
    return bool(version.strip()) and version not in (".", "..") and version.lower() != "latest"


def version_error(version: str) -> str | None:
    if len(version) > MAX_VERSION_LENGTH:
        return f"Ensure this field has no more than {MAX_VERSION_LENGTH} characters."
    if not is_valid_version(version):
        return f"Release with name {version} is not allowed"
    return None


@dataclass(frozen=True)
class ReleaseState(State):
    release_id: int | None = None
    organization_id: int | None = None
    version: str = ""
    date_added: str = ""
    ref: str | None = None
    url: str | None = None
    owner: str | None = None
    user_agent: str = ""
    date_released: str | None = None
    status: str = "open"
    project_ids: tuple[int, ...] = ()
    commit_count: int = 0
    last_commit: dict[str, Any] | None = None
    authors: tuple[dict[str, Any], ...] = ()
    head_commits: dict[str, str] = field(default_factory=dict)
    total_deploys: int = 0
    last_deploy: dict[str, Any] | None = None

    @property
    def exists(self) -> bool:
        return self.release_id is not None

    def evolve(self, event: Event) -> Self:
        if isinstance(event, ReleaseCreated):
            return type(self)(
                release_id=event.release_id,
                organization_id=event.organization_id,
                version=event.version,
                date_added=event.date_added,
                ref=event.ref,
                url=event.url,
                owner=event.owner,
                user_agent=event.user_agent,
                date_released=event.date_released,
                status=event.status,
            )
        if isinstance(event, ReleaseProjectsAdded):
            return replace(self, project_ids=(*self.project_ids, *event.project_ids))
        if isinstance(event, ReleaseUpdated):
            return replace(
                self, ref=event.ref, url=event.url, date_released=event.date_released, status=event.status
            )
        if isinstance(event, ReleaseCommitsSet):
            return replace(
                self,
                commit_count=event.commit_count,
                last_commit=event.last_commit,
                authors=event.authors,
                head_commits={**self.head_commits, **event.head_commits},
            )
        if isinstance(event, ReleaseHeadCommitsSet):
            return replace(self, head_commits={**self.head_commits, **event.head_commits})
        if isinstance(event, DeployCreated):
            deploy = {
                "id": str(event.deploy_id),
                "environment": event.environment,
                "dateStarted": event.date_started,
                "dateFinished": event.date_finished,
                "name": event.name,
                "url": event.url,
            }
            return replace(self, total_deploys=self.total_deploys + 1, last_deploy=deploy)
        if isinstance(event, ReleaseDeleted):
            return type(self)()
        return self


@dataclass(frozen=True)
class ReleaseChanges:
    """Fields a create or update supplies (None: not supplied) plus commits and refs."""

    ref: str | None = None
    url: str | None = None
    date_released: str | None = None
    status: str | None = None
    commits: CommitsInput | None = None
    refs: tuple[Mapping[str, Any], ...] = ()
    user_id: int | None = None


@dataclass(frozen=True)
class CreateRelease(Command):
    """``POST .../releases/`` (``project_level``: the project endpoint's 201/208 and activity rules)."""

    organization_id: int
    version: str
    release_id: int
    project_ids: tuple[int, ...]
    changes: ReleaseChanges = ReleaseChanges()
    owner: str | None = None
    user_agent: str = ""
    project_level: bool = False


@dataclass(frozen=True)
class UpdateRelease(Command):
    organization_id: int
    version: str
    changes: ReleaseChanges


@dataclass(frozen=True)
class SetCommits(Command):
    organization_id: int
    version: str
    commits: CommitsInput


def _release_reads(organization_id: int, version: str, commits: CommitsInput | None) -> dict[str, Any]:
    reads: dict[str, Any] = {
        "release": (release_stream(organization_id, version), ReleaseState),
        "repos": (repositories_stream(organization_id), RepositoriesState),
    }
    for _, group_id in commits.group_refs if commits else ():
        reads[f"group_{group_id}"] = (group_stream(group_id), GroupState)
    return reads


def _groups(states: dict[str, Any]) -> dict[str, GroupState]:
    return {k.removeprefix("group_"): v for k, v in states.items()}


def _commits_and_refs(
    release: ReleaseState, repos: RepositoriesState, changes: ReleaseChanges, groups: dict[str, GroupState]
) -> list[Change]:
    """Commits (when given) then refs (when given): refs fetch commits only without a commit list."""
    assert release.release_id is not None and release.organization_id is not None
    out: list[Change] = []
    if changes.refs:
        heads, fetch = head_commit_refs(changes.refs, repos)  # before anything: a bad ref changes nothing
    if changes.commits and changes.commits.commits:
        out += set_commits_changes(
            release.organization_id, release.release_id, release.version, changes.commits, repos, groups
        )
    if changes.refs:
        fetching = not (changes.commits and changes.commits.commits)
        event = ReleaseHeadCommitsSet(
            release.release_id,
            release.organization_id,
            release.version,
            heads,
            tuple(fetch),
            fetching,
            changes.user_id,
        )
        out.append(Change(release_stream(release.organization_id, release.version), event))
    return out


def _after(state: ReleaseState, changes: list[Change]) -> ReleaseState:
    """The release once the commit and ref changes are applied (the response shows it)."""
    stream = release_stream(state.organization_id or 0, state.version)
    for change in changes:
        if change.stream == stream and isinstance(change.event, ReleaseCommitsSet | ReleaseHeadCommitsSet):
            state = state.evolve(change.event)
    return state


@handles(CreateRelease, reads=lambda c: _release_reads(c.organization_id, c.version, c.changes.commits))
def create_release(
    cmd: CreateRelease, now: datetime, release: ReleaseState, repos: RepositoriesState, **groups: GroupState
) -> Decision:
    error = version_error(cmd.version)
    if error:
        raise FieldErrors({"version": [error]})
    given = cmd.changes
    stream = release_stream(cmd.organization_id, cmd.version)
    out: list[Change] = []
    created = not release.exists
    was_released = bool(release.date_released)
    if created:
        event: Event = ReleaseCreated(
            cmd.release_id, cmd.organization_id, cmd.version, now.isoformat(), given.ref, given.url,
            cmd.owner,
            given.date_released, given.status or "open", cmd.user_agent[:256],
        )  # fmt: skip
        out.append(Change(stream, event))
        release = release.evolve(event)
    elif given.status is not None and given.status != release.status:
        event = ReleaseUpdated(
            release.release_id or 0, cmd.organization_id, cmd.version, release.ref, release.url,
            release.date_released, given.status, (),
        )  # fmt: skip
        out.append(Change(stream, event))
        release = release.evolve(event)
    new_projects = tuple(p for p in dict.fromkeys(cmd.project_ids) if p not in release.project_ids)
    if cmd.project_level:
        activity = new_projects if not was_released and release.date_released else ()
    else:
        activity = new_projects if release.date_released else ()
    if new_projects:
        linked = ReleaseProjectsAdded(
            release.release_id or 0,
            cmd.organization_id,
            cmd.version,
            new_projects,
            activity,
            release.date_released,
        )
        out.append(Change(stream, linked))
        release = release.evolve(linked)
    out += _commits_and_refs(release, repos, given, _groups(groups))
    release = _after(release, out)
    status = 208 if not created and not new_projects else 201
    return Decision(changes=tuple(out), result={"release": release, "status": status})


@handles(UpdateRelease, reads=lambda c: _release_reads(c.organization_id, c.version, c.changes.commits))
def update_release(
    cmd: UpdateRelease, now: datetime, release: ReleaseState, repos: RepositoriesState, **groups: GroupState
) -> Decision:
    if not release.exists:
        raise NotFound(NOT_FOUND)
    given = cmd.changes
    was_released = bool(release.date_released)
    out: list[Change] = []
    fields = {
        "ref": given.ref or release.ref,
        "url": given.url or release.url,
        "date_released": given.date_released or release.date_released,
        "status": given.status or release.status,
    }
    if any(fields[k] != getattr(release, k) for k in fields):
        activity = release.project_ids if not was_released and fields["date_released"] else ()
        event = ReleaseUpdated(
            release.release_id or 0, cmd.organization_id, cmd.version, fields["ref"], fields["url"],
            fields["date_released"], fields["status"] or "open", activity,
        )  # fmt: skip
        out.append(Change(release_stream(cmd.organization_id, cmd.version), event))
        release = release.evolve(event)
    out += _commits_and_refs(release, repos, given, _groups(groups))
    return Decision(changes=tuple(out), result={"release": _after(release, out), "status": 200})


@handles(SetCommits, reads=lambda c: _release_reads(c.organization_id, c.version, c.commits))
def set_commits(
    cmd: SetCommits, now: datetime, release: ReleaseState, repos: RepositoriesState, **groups: GroupState
) -> Decision:
    if not release.exists:
        raise NotFound(NOT_FOUND)
    out = _commits_and_refs(release, repos, ReleaseChanges(commits=cmd.commits), _groups(groups))
    return Decision(changes=tuple(out), result={"release": _after(release, out), "status": 200})


@dataclass(frozen=True)
class DeleteRelease(Command):
    organization_id: int
    version: str


@handles(
    DeleteRelease, reads=lambda c: {"release": (release_stream(c.organization_id, c.version), ReleaseState)}
)
def delete_release(cmd: DeleteRelease, now: datetime, release: ReleaseState) -> Decision:
    if not release.exists:
        raise NotFound(NOT_FOUND)
    event = ReleaseDeleted(release.release_id or 0, cmd.organization_id, cmd.version)
    return Decision(changes=(Change(release_stream(cmd.organization_id, cmd.version), event),))


@dataclass(frozen=True)
class CreateDeploy(Command):
    organization_id: int
    version: str
    deploy_id: int
    environment: str
    name: str | None
    url: str | None
    date_started: str | None
    date_finished: str | None
    project_ids: tuple[int, ...] | None  # None: every project of the release
    project_slugs: tuple[str, ...] = ()  # the slug of each of ``project_ids``, for the refusal


def invalid_projects(message: str) -> FieldErrors:
    """Sentry's ``ParameterValidationError``: a 400 with a coded ``detail``."""
    return FieldErrors(
        {"detail": {"code": "parameter-validation-error", "message": message, "extra": {"context": ""}}}
    )


@handles(
    CreateDeploy,
    reads=lambda c: {
        "release": (release_stream(c.organization_id, c.version), ReleaseState),
        "environments": (environments_stream(c.organization_id), EnvironmentsState),
    },
)
def create_deploy(
    cmd: CreateDeploy, now: datetime, release: ReleaseState, environments: EnvironmentsState
) -> Decision:
    if not release.exists:
        raise NotFound(NOT_FOUND)
    if not cmd.environment or not is_valid_name(cmd.environment):
        raise FieldErrors({"environment": [INVALID_ENVIRONMENT]})
    projects = release.project_ids if cmd.project_ids is None else tuple(dict.fromkeys(cmd.project_ids))
    names = dict(zip(cmd.project_ids or (), cmd.project_slugs, strict=False))
    invalid = [names.get(p, str(p)) for p in projects if p not in release.project_ids]
    if invalid:
        raise invalid_projects(f"Invalid projects ({', '.join(invalid)}) for release {cmd.version}")
    event = DeployCreated(
        release.release_id or 0, cmd.organization_id, cmd.version, cmd.deploy_id, cmd.environment,
        cmd.name, cmd.url, cmd.date_started, cmd.date_finished or now.isoformat(), tuple(projects),
    )  # fmt: skip
    release = release.evolve(event)
    made = ensure_environment(environments, cmd.organization_id, cmd.environment, tuple(projects))
    return Decision(
        changes=(*made, Change(release_stream(cmd.organization_id, cmd.version), event)),
        result=release.last_deploy,
    )


@dataclass(frozen=True)
class AddRepository(Command):
    """``location``: the git directory the repository reads (resolved by the caller), claimed
    for this repository alone; None for repositories that read nothing local."""

    organization_id: int
    repository_id: int
    name: str
    provider: str
    url: str | None
    config: dict[str, Any]
    location: str | None = None


@dataclass(frozen=True)
class LocationState(State):
    """Who holds a repository location: ``(organization id, repository id)``, or None."""

    holder: tuple[int, int] | None = None

    def evolve(self, event: Event) -> Self:
        if isinstance(event, RepositoryLocationClaimed) and self.holder is None:
            return type(self)((event.organization_id, event.repository_id))
        return self


REPOSITORY_EXISTS = "A repository with that name already exists"  # Sentry's, for name or location


def _repository_reads(cmd: AddRepository) -> dict[str, Any]:
    reads: dict[str, Any] = {"repos": (repositories_stream(cmd.organization_id), RepositoriesState)}
    if cmd.location is not None:
        reads["location"] = (repository_location_stream(cmd.location), LocationState)
    return reads


@handles(AddRepository, reads=_repository_reads)
def add_repository(
    cmd: AddRepository, now: datetime, repos: RepositoriesState, location: LocationState | None = None
) -> Decision:
    if cmd.name in repos.by_name or (location is not None and location.holder is not None):
        # The same words whoever holds the location: another organization learns nothing of it.
        raise FieldErrors({"errors": {"__all__": REPOSITORY_EXISTS}})
    event = RepositoryAdded(
        cmd.repository_id, cmd.organization_id, cmd.name, cmd.provider, cmd.url, cmd.config
    )
    changes = [Change(repositories_stream(cmd.organization_id), event)]
    if cmd.location is not None:
        claim = RepositoryLocationClaimed(cmd.location, cmd.repository_id, cmd.organization_id)
        changes.append(Change(repository_location_stream(cmd.location), claim))
    return Decision(
        changes=tuple(changes),
        result={**RepositoriesState().evolve(event).by_name[cmd.name], "date_added": now.isoformat()},
    )
