"""Project keys (client keys, DSNs). Their events are on the project's stream, so a key can
never outlive or race its project; each key's numeric id and public key are also reserved on
streams of their own, which makes both unique across the installation.

Every event carries the key's full state after it, so views (the key list, Relay's project
configs) are plain upserts keyed by ``public_key``.

v2 added what Sentry keeps in ``ProjectKey.data`` (the JavaScript loader's SDK version and
options) and, on an update, the rate limit before it (for the ``projectkey.edit`` audit data).
A v1 event upcasts to a key with no loader data and an unchanged rate limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from events.base import Event, event, upcaster
from events.projects import ProjectEvent

KEY_ACTIVE, KEY_INACTIVE = 0, 1  # Sentry's ProjectKeyStatus


@dataclass(frozen=True)
class ProjectKeyEvent(ProjectEvent):
    key_id: int
    public_key: str
    secret_key: str
    label: str
    status: int
    rate_limit_count: int | None
    rate_limit_window: int | None
    date_created: str = ""  # ISO time the key was created (kept on every later event)
    automatic: bool = False  # the key made with its project (Sentry audits only keys asked for)
    browser_sdk_version: str | None = None  # ``data["browserSdkVersion"]``; None: the project's default
    loader_options: tuple[str, ...] = ()  # the loader options that are on (Sentry reads absent as off)

    @property
    def is_active(self) -> bool:
        return self.status == KEY_ACTIVE


@event
@dataclass(frozen=True)
class ProjectKeyCreated(ProjectKeyEvent):
    TOPIC = "project_keys.ProjectKeyCreated.v2"


@event
@dataclass(frozen=True)
class ProjectKeyUpdated(ProjectKeyEvent):
    TOPIC = "project_keys.ProjectKeyUpdated.v2"
    prev_rate_limit_count: int | None = None  # the rate limit before this update
    prev_rate_limit_window: int | None = None


@event
@dataclass(frozen=True)
class ProjectKeyRemoved(ProjectKeyEvent):
    TOPIC = "project_keys.ProjectKeyRemoved.v2"


@upcaster("project_keys.ProjectKeyCreated.v1", ProjectKeyCreated.TOPIC)
def _created_v1(payload: dict[str, Any]) -> dict[str, Any]:
    return payload  # the new fields' defaults: no loader data


@upcaster("project_keys.ProjectKeyUpdated.v1", ProjectKeyUpdated.TOPIC)
def _updated_v1(payload: dict[str, Any]) -> dict[str, Any]:
    """v1 did not record the previous rate limit: call it unchanged, so no ``prev_*`` is claimed."""
    return {
        **payload,
        "prev_rate_limit_count": payload.get("rate_limit_count"),
        "prev_rate_limit_window": payload.get("rate_limit_window"),
    }


@upcaster("project_keys.ProjectKeyRemoved.v1", ProjectKeyRemoved.TOPIC)
def _removed_v1(payload: dict[str, Any]) -> dict[str, Any]:
    return payload


@event
@dataclass(frozen=True)
class ProjectKeyReserved(Event):
    """On the key id's stream and on the public key's stream: both are taken."""

    TOPIC = "project_keys.ProjectKeyReserved.v1"
    key_id: int
    public_key: str
    project_id: int
    organization_id: int
