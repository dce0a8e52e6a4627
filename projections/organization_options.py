"""Organization settings as stored: options (Sentry's OrganizationOption rows) and the
organization's own attributes (flags that changed, the default role, the status). Defaults for what was
never stored are Sentry's and applied where the settings are rendered."""

from __future__ import annotations

import json
from typing import Any

from events import Recorded
from events.organizations import OrganizationEdited, OrganizationRemoved, OrganizationRestored
from projections.base import Projection, View, on


class OrganizationOptions(Projection):
    name = "organization_options"
    tables = {
        "options": "organization_id BIGINT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, "
        "position BIGINT NOT NULL, PRIMARY KEY (organization_id, key)",
        "attributes": "organization_id BIGINT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, "
        "PRIMARY KEY (organization_id, name)",
    }

    @on(OrganizationEdited)
    def _edited(self, view: View, rec: Recorded) -> None:
        e = rec.event
        assert isinstance(e, OrganizationEdited)
        for key in e.removed_options:
            view.execute(
                "DELETE FROM {options} WHERE organization_id = %s AND key = %s", (e.organization_id, key)
            )
        view.executemany(
            "INSERT INTO {options} (organization_id, key, value, position) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (organization_id, key) DO UPDATE SET value = excluded.value, "
            "position = excluded.position",
            [(e.organization_id, key, json.dumps(value), rec.position) for key, value in e.options.items()],
        )
        attributes = {**e.flags, "default_role": e.default_role}
        view.executemany(
            "INSERT INTO {attributes} (organization_id, name, value) VALUES (%s, %s, %s) "
            "ON CONFLICT (organization_id, name) DO UPDATE SET value = excluded.value",
            [(e.organization_id, name, json.dumps(value)) for name, value in attributes.items()],
        )

    @on(OrganizationRemoved, OrganizationRestored)
    def _status(self, view: View, rec: Recorded) -> None:
        """The organization's status, an attribute like the flags (absent: active)."""
        e = rec.event
        assert isinstance(e, OrganizationRemoved | OrganizationRestored)
        status = "pending_deletion" if isinstance(e, OrganizationRemoved) else "active"
        view.execute(
            "INSERT INTO {attributes} (organization_id, name, value) VALUES (%s, %s, %s) "
            "ON CONFLICT (organization_id, name) DO UPDATE SET value = excluded.value",
            (e.organization_id, "status", json.dumps(status)),
        )


def options(view: View, organization_id: int) -> dict[str, Any]:
    rows = view.execute(
        "SELECT key, value FROM {options} WHERE organization_id = %s ORDER BY key", (organization_id,)
    )
    return {key: json.loads(value) for key, value in rows}


def attributes(view: View, organization_id: int) -> dict[str, Any]:
    rows = view.execute("SELECT name, value FROM {attributes} WHERE organization_id = %s", (organization_id,))
    return {name: json.loads(value) for name, value in rows}
