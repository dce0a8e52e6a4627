"""``PUT`` and ``DELETE /projects/{org}/{project}/``: name, slug, platform, options; removal.

A slug change moves the slug on the organization's stream (released and reserved in the same
append as the project's event), so two projects can never end up with one slug.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from commands.base import Change, Command, Decision, FieldErrors, handles
from commands.organizations import OrganizationState
from commands.projects import (
    ProjectState,
    existing,
    fold_into,
    on_project,
    option_changes,
)
from commands.slugs import RESERVED_PROJECT_SLUGS
from events import Event, streams
from events.option_registry import OptionError, normalize_project_option
from events.organizations import ProjectSlugReleased, ProjectSlugReserved
from events.projects import ProjectRemoved, ProjectUpdated


def audit_data(project: ProjectState) -> dict[str, Any]:
    """``Project.get_audit_log_data`` (status 0 is active; projects here are never public)."""
    return {
        "id": project.project_id,
        "slug": project.slug,
        "name": project.name,
        "status": 0,
        "public": False,
    }


def _reads(c: Any) -> dict[str, tuple[Any, Any]]:
    return {
        "project": (streams.project(c.project_id), ProjectState),
        "organization": (streams.organization(c.organization_id), OrganizationState),
    }


@dataclass(frozen=True)
class UpdateProject(Command):
    """Fields left ``None`` are not changed. ``options``: (key, value) pairs, ``None`` removes."""

    project_id: int
    organization_id: int
    name: str | None = None
    slug: str | None = None
    platform: str | None = None
    options: tuple[tuple[str, Any], ...] = ()


def _slug_changes(
    cmd: UpdateProject, project: ProjectState, organization: OrganizationState
) -> list[tuple[Any, Event]]:
    slug = cmd.slug
    if not slug or slug == project.slug:
        return []
    if slug in RESERVED_PROJECT_SLUGS:
        raise FieldErrors({"slug": [f'The slug "{slug}" is reserved and not allowed.']})
    other = organization.project_slugs.get(slug.lower())
    if other is not None and other != project.project_id:
        raise FieldErrors({"slug": [f"Another project ({slug}) is already using that slug"]})
    org_id, project_id = cmd.organization_id, cmd.project_id
    stream = streams.organization(org_id)
    return [
        (stream, ProjectSlugReleased(org_id, project_id, project.slug)),
        (stream, ProjectSlugReserved(org_id, project_id, slug)),
    ]


def _updated(cmd: UpdateProject, project: ProjectState) -> ProjectUpdated | None:
    """Sentry's ``changed_proj_settings`` plus the project's audit data, after the change."""
    name = cmd.name or project.name
    slug = cmd.slug or project.slug
    platform = cmd.platform or project.platform
    if (name, slug, platform) == (project.name, project.slug, project.platform):
        return None
    changes: dict[str, Any] = {}
    if slug != project.slug:
        changes.update(new_slug=slug, old_slug=project.slug)
    if name != project.name:
        changes["new_project"] = name
    assert project.project_id is not None and project.organization_id is not None
    after = ProjectState(project.project_id, project.organization_id, slug, name, platform)
    changes.update(audit_data(after))
    return ProjectUpdated(
        project.project_id, project.organization_id, slug, name, platform, project.slug, changes
    )


def normalized_options(
    project: ProjectState, options: tuple[tuple[str, Any], ...]
) -> tuple[tuple[str, Any], ...]:
    """Every value through the option registry before it can become an event: keys Sentry
    handles are stored (under their stored key) as its type, ``None`` removes one; other keys
    are ignored as Sentry ignores them, except that ``None`` still removes an option an
    earlier version stored under such a key."""
    normalized, errors = [], {}
    for key, value in options:
        try:
            known = normalize_project_option(key, value)
        except OptionError as exc:
            errors[key] = [exc.message]
            continue
        if known is not None:
            normalized.append(known)
        elif value is None and key in project.options:
            normalized.append((key, None))
    if errors:
        raise FieldErrors({"options": errors})
    return tuple(normalized)


@handles(UpdateProject, reads=_reads)
def update_project(
    cmd: UpdateProject, now: datetime, project: ProjectState, organization: OrganizationState
) -> Decision:
    existing(project)
    org_changes = _slug_changes(cmd, project, organization)
    events: list[Event] = []
    updated = _updated(cmd, project)
    if updated is not None:
        events.append(updated)
    events.extend(option_changes(project, normalized_options(project, cmd.options)))
    changes = (*(Change(s, e) for s, e in org_changes), *on_project(project, events))
    return Decision(changes=changes, result=fold_into(project, events))


@dataclass(frozen=True)
class DeleteProject(Command):
    """``renamed_slug``: the random slug the project takes while pending deletion (uuid4 hex)."""

    project_id: int
    organization_id: int
    renamed_slug: str


@handles(DeleteProject, reads=_reads)
def delete_project(
    cmd: DeleteProject, now: datetime, project: ProjectState, organization: OrganizationState
) -> Decision:
    existing(project)
    assert project.project_id is not None and project.organization_id is not None
    removed = ProjectRemoved(
        project.project_id,
        project.organization_id,
        project.slug,
        project.name,
        cmd.renamed_slug,
        tuple(sorted(project.keys)),
    )
    released = ProjectSlugReleased(project.organization_id, project.project_id, project.slug)
    return Decision(
        changes=(
            Change(streams.organization(cmd.organization_id), released),
            *on_project(project, [removed]),
        ),
        result=None,
    )
