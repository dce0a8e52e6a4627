"""Project keys (client keys, DSNs). Their events are on the project's stream, so a key can
never outlive or race its project; each key's numeric id and public key are also reserved on
streams of their own, which makes both unique across the installation.

Every event carries the key's full state after it, so views (the key list, Relay's project
configs) are plain upserts keyed by ``public_key``.
"""

from __future__ import annotations

from dataclasses import dataclass

from events.base import Event, event
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

    @property
    def is_active(self) -> bool:
        return self.status == KEY_ACTIVE


@event
@dataclass(frozen=True)
class ProjectKeyCreated(ProjectKeyEvent):
    TOPIC = "project_keys.ProjectKeyCreated.v1"


@event
@dataclass(frozen=True)
class ProjectKeyUpdated(ProjectKeyEvent):
    TOPIC = "project_keys.ProjectKeyUpdated.v1"


@event
@dataclass(frozen=True)
class ProjectKeyRemoved(ProjectKeyEvent):
    TOPIC = "project_keys.ProjectKeyRemoved.v1"


@event
@dataclass(frozen=True)
class ProjectKeyReserved(Event):
    """On the key id's stream and on the public key's stream: both are taken."""

    TOPIC = "project_keys.ProjectKeyReserved.v1"
    key_id: int
    public_key: str
    project_id: int
    organization_id: int
