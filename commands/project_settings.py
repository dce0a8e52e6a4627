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
from events.option_registry import (
    MAX_SENSITIVE_FIELD_CHARS,
    PROJECT_SETTINGS,
    SENSITIVE_FIELDS_TOO_LONG,
    OptionError,
    normalize_project_option,
)
from events.organizations import ProjectSlugReleased, ProjectSlugReserved
from events.projects import ProjectBookmarkSet, ProjectRemoved, ProjectUpdated


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
    settings: tuple[tuple[str, Any], ...] = ()  # top-level fields (``PROJECT_SETTINGS``) as loaded
    bookmark: tuple[int, bool] | None = None  # (the caller's token, isBookmarked)


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
        elif value is None and project.has_option(key):
            normalized.append((key, None))
    if errors:
        raise FieldErrors({"options": errors})
    return tuple(normalized)


NOT_SETTABLE = {
    "groupingConfig": "Grouping config cannot be manually set.",
    "secondaryGroupingConfig": "Secondary grouping config cannot be manually set.",
    "secondaryGroupingExpiry": "Secondary grouping expiry cannot be manually set.",
}
EMPTY_ORIGINS = "Empty value will block all requests, use * to accept from all domains"
DIGESTS_ORDER = "The minimum delay on digests must be lower than the maximum."
MIN_DELAY, MAX_DELAY = "digests:mail:minimum_delay", "digests:mail:maximum_delay"
NULL_REMOVES = frozenset({"storeCrashReports", "defaultEnvironment", "debugFilesRole"})
SET_WHEN_TRUTHY = frozenset({"digestsMinDelay", "digestsMaxDelay", "subjectTemplate"})


def _setting_errors(project: ProjectState, given: dict[str, Any]) -> dict[str, list[str]]:
    """``ProjectAdminSerializer``'s checks that need more than the field: the grouping
    configs, empty origins, the sensitive fields' total length, the digest delays' order."""
    errors = {field: [message] for field, message in NOT_SETTABLE.items() if field in given}
    if "allowedDomains" in given and not given["allowedDomains"]:
        errors["allowedDomains"] = [EMPTY_ORIGINS]
    if sum(map(len, given.get("sensitiveFields") or [])) > MAX_SENSITIVE_FIELD_CHARS:
        errors["sensitiveFields"] = [SENSITIVE_FIELDS_TOO_LONG]
    low = given["digestsMinDelay"] if "digestsMinDelay" in given else project.options.get(MIN_DELAY)
    high = given["digestsMaxDelay"] if "digestsMaxDelay" in given else project.options.get(MAX_DELAY)
    if low is not None and high and low > high:
        errors["digestsMinDelay"] = [DIGESTS_ORDER]
    return errors


def setting_options(project: ProjectState, settings: tuple[tuple[str, Any], ...]) -> list[tuple[str, Any]]:
    """The top-level settings as (stored key, value) option changes, the way Sentry's PUT
    applies each (``None`` removes where Sentry deletes the option, others are skipped when
    ``None`` or, for some, when empty), every value through its stored type."""
    given = dict(settings)
    if "allowedDomains" in given:
        given["allowedDomains"] = [origin for origin in given["allowedDomains"] or [] if origin]
    errors = _setting_errors(project, given)
    changes: list[tuple[str, Any]] = []
    for field, value in given.items():
        if field not in PROJECT_SETTINGS:
            continue
        stored, normalize = PROJECT_SETTINGS[field]
        if field == "resolveAge" and value is None:
            value = 0
        if value is None or (field in SET_WHEN_TRUTHY and not value):
            if value is None and field in NULL_REMOVES:
                changes.append((stored, None))
            continue
        try:
            changes.append((stored, normalize(value)))
        except OptionError as exc:
            errors[field] = [exc.message]
    if errors:
        raise FieldErrors(errors)
    return changes


def _bookmark(cmd: UpdateProject, project: ProjectState) -> list[Event]:
    if cmd.bookmark is None:
        return []
    token_id, bookmarked = cmd.bookmark
    if (token_id in project.bookmarked_by) == bookmarked:
        return []
    return [ProjectBookmarkSet(cmd.project_id, cmd.organization_id, token_id, bookmarked)]


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
    # ``options`` are applied after the top-level fields, as in Sentry: the last value wins
    changes_by_key = dict(setting_options(project, cmd.settings))
    changes_by_key.update(normalized_options(project, cmd.options))
    events.extend(option_changes(project, tuple(changes_by_key.items())))
    events.extend(_bookmark(cmd, project))
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
