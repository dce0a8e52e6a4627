"""Project keys: create, update, delete (Sentry's ``ProjectKey`` and its endpoints).

A key's events go on its project's stream; its numeric id and public key are reserved on
streams of their own, appended in the same atomic write, so both are unique.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Self

from commands.base import (
    Change,
    Command,
    Conflict,
    Decision,
    FieldErrors,
    IdCollision,
    NotFound,
    State,
    handles,
)
from commands.projects import ProjectState, existing, on_project, project_reads
from events import Event, streams
from events.option_registry import INT32_MAX, OptionError, integer
from events.project_keys import (
    KEY_ACTIVE,
    KEY_INACTIVE,
    ProjectKeyCreated,
    ProjectKeyEvent,
    ProjectKeyRemoved,
    ProjectKeyReserved,
    ProjectKeyUpdated,
)

DEFAULT_KEY_LABEL = "Default"  # the key Sentry creates with every project
KEY_NOT_FOUND = "The requested resource does not exist"

# The JavaScript loader, as the newest Sentry sets it up for a new project (option epoch 15):
# ``sentry:default_loader_version``, ``sentry:loader_available_sdk_versions`` (what a key
# offers), ``get_all_browser_sdk_version_choices`` (what a PUT accepts) and
# ``sentry:default_loader_options`` (what a new key stores).
DEFAULT_BROWSER_SDK_VERSION = "10.x"
BROWSER_SDK_CHOICES = ("10.x", "9.x", "8.x", "7.x")
BROWSER_SDK_VERSIONS = ("latest", "10.x", "9.x", "8.x", "7.x", "6.x", "5.x", "4.x")
LOADER_OPTIONS = ("hasReplay", "hasPerformance", "hasDebug", "hasFeedback", "hasLogsAndMetrics")
DEFAULT_LOADER_OPTIONS = ("hasReplay", "hasPerformance")


@dataclass(frozen=True)
class NewKey:
    """What a new key needs from outside the decider: a snowflake id and two uuid4 hex keys."""

    key_id: int
    public_key: str
    secret_key: str


@dataclass(frozen=True)
class Reservation(State):
    taken: bool = False

    def evolve(self, event: Event) -> Self:
        return replace(self, taken=True) if isinstance(event, ProjectKeyReserved) else self


def reservation_reads(key: NewKey) -> dict[str, tuple[Any, type[State]]]:
    return {
        "key_id_reservation": (streams.project_key_id(key.key_id), Reservation),
        "public_key_reservation": (streams.project_public_key(key.public_key), Reservation),
    }


MAX_RATE_LIMIT_WINDOW = 60 * 60 * 24


def checked_rate_limit(rate_limit: tuple[int | None, int | None]) -> tuple[int | None, int | None]:
    """``(count, window)`` as the key's columns hold them (BoundedPositiveIntegerField, a
    window of at most a day): anything else would fail the views that store it."""
    errors = {}
    for name, value, maximum in zip(
        ("count", "window"), rate_limit, (INT32_MAX, MAX_RATE_LIMIT_WINDOW), strict=True
    ):
        if value is None:
            continue
        try:
            integer(0, maximum)(value)
        except OptionError as exc:
            errors[name] = [exc.message]
        else:
            if not isinstance(value, int) or isinstance(value, bool):
                errors[name] = ["A valid integer is required."]
    if errors:
        raise FieldErrors({"rateLimit": errors})
    return rate_limit


def new_key_changes(
    project: ProjectState,
    key: NewKey,
    label: str,
    rate_limit: tuple[int | None, int | None],
    key_id_reservation: Reservation,
    public_key_reservation: Reservation,
    now: datetime,
    automatic: bool = False,
) -> tuple[tuple[Change, ...], ProjectKeyCreated]:
    """The changes that create ``key`` on ``project``, reservations included."""
    assert project.project_id is not None and project.organization_id is not None
    if key_id_reservation.taken:
        raise IdCollision("Max allowed ID retry reached. Please try again in a second")
    if public_key_reservation.taken:
        raise Conflict("A key with this public key already exists.")
    rate_limit = checked_rate_limit(rate_limit)
    created = ProjectKeyCreated(
        project.project_id,
        project.organization_id,
        key.key_id,
        key.public_key,
        key.secret_key,
        label,
        KEY_ACTIVE,
        *rate_limit,
        now.isoformat(),
        automatic,
        loader_options=DEFAULT_LOADER_OPTIONS,
    )
    reserved = ProjectKeyReserved(key.key_id, key.public_key, project.project_id, project.organization_id)
    changes = (
        *on_project(project, [created]),
        Change(streams.project_key_id(key.key_id), reserved),
        Change(streams.project_public_key(key.public_key), reserved),
    )
    return changes, created


@dataclass(frozen=True)
class CreateProjectKey(Command):
    project_id: int
    key: NewKey
    label: str
    rate_limit: tuple[int | None, int | None] = (None, None)


@handles(CreateProjectKey, reads=lambda c: {**project_reads(c), **reservation_reads(c.key)})
def create_project_key(
    cmd: CreateProjectKey,
    now: datetime,
    project: ProjectState,
    key_id_reservation: Reservation,
    public_key_reservation: Reservation,
) -> Decision:
    existing(project)
    changes, created = new_key_changes(
        project, cmd.key, cmd.label, cmd.rate_limit, key_id_reservation, public_key_reservation, now
    )
    return Decision(changes=changes, result=created)


def _key(project: ProjectState, public_key: str) -> ProjectKeyEvent:
    existing(project)
    key = project.keys.get(public_key)
    if key is None:
        raise NotFound(KEY_NOT_FOUND)
    return key


@dataclass(frozen=True)
class UpdateProjectKey(Command):
    """``None`` leaves a field as it is; ``rate_limit`` is ``(count, window)``, both ``None`` to clear.
    As Sentry's PUT does, ``browser_sdk_version`` ``None`` stores the project's default (kept
    as ``None``: a project's default never changes), and ``loader_options`` (name, value) pairs
    are merged into the stored ones (unknown names dropped)."""

    project_id: int
    public_key: str
    label: str | None = None
    is_active: bool | None = None
    rate_limit: tuple[int | None, int | None] | None = None
    browser_sdk_version: str | None = None
    loader_options: tuple[tuple[str, Any], ...] = ()


@handles(UpdateProjectKey, reads=project_reads)
def update_project_key(cmd: UpdateProjectKey, now: datetime, project: ProjectState) -> Decision:
    key = _key(project, cmd.public_key)
    unchanged = (key.rate_limit_count, key.rate_limit_window)
    count, window = unchanged if cmd.rate_limit is None else checked_rate_limit(cmd.rate_limit)
    status = key.status if cmd.is_active is None else (KEY_ACTIVE if cmd.is_active else KEY_INACTIVE)
    after = ProjectKeyUpdated(
        key.project_id,
        key.organization_id,
        key.key_id,
        key.public_key,
        key.secret_key,
        cmd.label or key.label,
        status,
        count,
        window,
        key.date_created,
        browser_sdk_version=checked_browser_sdk_version(cmd.browser_sdk_version),
        loader_options=merged_loader_options(key.loader_options, cmd.loader_options),
        prev_rate_limit_count=key.rate_limit_count,
        prev_rate_limit_window=key.rate_limit_window,
    )
    if _state(after) == _state(key):
        return Decision(result=key)  # nothing changed: nothing to append or audit
    return Decision(changes=on_project(project, [after]), result=after)


def _state(key: ProjectKeyEvent) -> tuple[Any, ...]:
    return (
        key.label,
        key.status,
        key.rate_limit_count,
        key.rate_limit_window,
        key.browser_sdk_version,
        key.loader_options,
    )


def checked_browser_sdk_version(version: str | None) -> str | None:
    if version is not None and version not in BROWSER_SDK_VERSIONS:
        raise FieldErrors({"browserSdkVersion": [f'"{version}" is not a valid choice.']})
    return version


def merged_loader_options(stored: tuple[str, ...], changes: tuple[tuple[str, Any], ...]) -> tuple[str, ...]:
    """The loader options that are on after ``changes``; only booleans are taken, as the key's
    ``DynamicSdkLoaderOptionSerializer`` takes them."""
    on = set(stored)
    errors = {}
    for name, value in changes:
        if name not in LOADER_OPTIONS:
            continue
        if not isinstance(value, bool):
            errors[name] = ["Must be a valid boolean."]
        elif value:
            on.add(name)
        else:
            on.discard(name)
    if errors:
        raise FieldErrors({"dynamicSdkLoaderOptions": errors})
    return tuple(name for name in LOADER_OPTIONS if name in on)


@dataclass(frozen=True)
class DeleteProjectKey(Command):
    project_id: int
    public_key: str


@handles(DeleteProjectKey, reads=project_reads)
def delete_project_key(cmd: DeleteProjectKey, now: datetime, project: ProjectState) -> Decision:
    key = _key(project, cmd.public_key)
    removed = ProjectKeyRemoved(
        key.project_id,
        key.organization_id,
        key.key_id,
        key.public_key,
        key.secret_key,
        key.label,
        key.status,
        key.rate_limit_count,
        key.rate_limit_window,
        key.date_created,
        browser_sdk_version=key.browser_sdk_version,
        loader_options=key.loader_options,
    )
    return Decision(changes=on_project(project, [removed]), result=None)
