"""Relay project configs: one stored document per public key, rebuilt whenever any of its
inputs changes, and written through to Redis (``relayconfig:{publicKey}``) by the engine.

The document is deterministic in the log: its ``rev`` derives from the position of the event
that last changed it, so replaying a batch (or rebuilding the view) yields the same bytes.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from events import Recorded
from events.organizations import OrganizationEdited
from events.project_keys import ProjectKeyEvent, ProjectKeyRemoved
from events.projects import (
    ProjectCreated,
    ProjectRemoved,
    ProjectUpdated,
)
from projections.base import Projection, View, on
from projections.option_changes import OPTION_EVENTS, new_value, option_change
from projections.relay_document import KeyFacts, ProjectFacts, document

REV_NAMESPACE = uuid.UUID("0e6c1c9e-55b4-4c55-9a6a-7e1a7c0f5d21")
CACHE_PREFIX = "relayconfig:"
TRUSTED_RELAYS_OPTION = "sentry:trusted-relays"


class RelayConfigs(Projection):
    name = "relay_configs"
    # 2: lastChange in Sentry's form (Z), the health-check filter, quotas on public keys.
    version = 2
    tables = {
        "projects": "project_id BIGINT PRIMARY KEY, organization_id BIGINT NOT NULL, slug TEXT NOT NULL, "
        "active INTEGER NOT NULL, options TEXT NOT NULL",
        "organizations": "organization_id BIGINT PRIMARY KEY, options TEXT NOT NULL, "
        "trusted_relays TEXT NOT NULL",
        "keys": "public_key TEXT PRIMARY KEY, project_id BIGINT NOT NULL, key_id BIGINT NOT NULL, "
        "active INTEGER NOT NULL",
        "documents": "public_key TEXT PRIMARY KEY, project_id BIGINT NOT NULL, "
        "organization_id BIGINT NOT NULL, document TEXT NOT NULL, rev TEXT NOT NULL, "
        "position BIGINT NOT NULL",
    }
    indexes = ("{keys} (project_id)", "{documents} (project_id)", "{projects} (organization_id)")

    @on(ProjectCreated)
    def _project(self, view: View, rec: Recorded) -> None:
        e = rec.event
        assert isinstance(e, ProjectCreated)
        view.execute(
            "INSERT INTO {projects} (project_id, organization_id, slug, active, options) "
            "VALUES (%s, %s, %s, 1, '{{}}')",
            (e.project_id, e.organization_id, e.slug),
        )

    @on(*OPTION_EVENTS)
    def _option(self, view: View, rec: Recorded) -> None:
        set_project_option(view, rec, *option_change(rec.event))

    @on(ProjectUpdated)
    def _updated(self, view: View, rec: Recorded) -> None:
        e = rec.event
        assert isinstance(e, ProjectUpdated)
        set_project_fields(view, rec, e.project_id, slug=e.slug)

    @on(ProjectRemoved)
    def _removed(self, view: View, rec: Recorded) -> None:
        e = rec.event
        assert isinstance(e, ProjectRemoved)
        set_project_fields(view, rec, e.project_id, active=0)

    @on(ProjectKeyEvent)
    def _key(self, view: View, rec: Recorded) -> None:
        e = rec.event
        assert isinstance(e, ProjectKeyEvent)
        active = e.is_active and not isinstance(e, ProjectKeyRemoved)
        upsert_key(view, rec, e.public_key, e.project_id, e.key_id, active)

    @on(OrganizationEdited)
    def _organization(self, view: View, rec: Recorded) -> None:
        e = rec.event
        assert isinstance(e, OrganizationEdited)
        if e.options or e.removed_options:
            update_organization(view, rec, e.organization_id, e.options, e.removed_options)

    def activate(self, view: View, since: int) -> None:
        """Write through what changed after ``since``; drop every other cached document (a
        rebuild may follow a change of the document's shape: the endpoint refills from the view)."""
        for (public_key,) in view.execute(
            "SELECT public_key FROM {documents} WHERE position <= %s", (since,)
        ):
            view.emit((public_key, None))
        for public_key, doc in view.execute(
            "SELECT public_key, document FROM {documents} WHERE position > %s", (since,)
        ):
            view.emit((public_key, doc))


def set_project_option(view: View, rec: Recorded, project_id: int, key: str, value: Any) -> None:
    rows = view.execute("SELECT options FROM {projects} WHERE project_id = %s", (project_id,))
    if not rows:
        return
    options = json.loads(rows[0][0])
    value = new_value(value, lambda: options.get(key))
    if value is None:
        options.pop(key, None)
    else:
        options[key] = value
    view.execute(
        "UPDATE {projects} SET options = %s WHERE project_id = %s", (json.dumps(options), project_id)
    )
    refresh_project(view, rec, project_id)


def set_project_fields(view: View, rec: Recorded, project_id: int, **fields: Any) -> None:
    """Change a project's slug or active flag, then rebuild its documents."""
    for column, value in fields.items():
        assert column in ("slug", "active")
        view.execute(f"UPDATE {{projects}} SET {column} = %s WHERE project_id = %s", (value, project_id))
    refresh_project(view, rec, project_id)


def upsert_key(
    view: View, rec: Recorded, public_key: str, project_id: int, key_id: int, active: bool
) -> None:
    view.execute(
        "INSERT INTO {keys} (public_key, project_id, key_id, active) VALUES (%s, %s, %s, %s) "
        "ON CONFLICT (public_key) DO UPDATE SET active = excluded.active",
        (public_key, project_id, key_id, int(active)),
    )
    refresh_project(view, rec, project_id)


def update_organization(
    view: View, rec: Recorded, organization_id: int, written: dict[str, Any], removed: tuple[str, ...] = ()
) -> None:
    """Apply the options an edit wrote and removed; every project of the organization follows."""
    rows = view.execute("SELECT options FROM {organizations} WHERE organization_id = %s", (organization_id,))
    options = {**(json.loads(rows[0][0]) if rows else {}), **written}
    for name in removed:
        options.pop(name, None)
    trusted = [r["public_key"] for r in options.get(TRUSTED_RELAYS_OPTION) or [] if isinstance(r, dict)]
    view.execute(
        "INSERT INTO {organizations} (organization_id, options, trusted_relays) VALUES (%s, %s, %s) "
        "ON CONFLICT (organization_id) DO UPDATE SET options = excluded.options, "
        "trusted_relays = excluded.trusted_relays",
        (organization_id, json.dumps(options), json.dumps(trusted)),
    )
    for (project_id,) in view.execute(
        "SELECT project_id FROM {projects} WHERE organization_id = %s", (organization_id,)
    ):
        refresh_project(view, rec, project_id)


def refresh_project(view: View, rec: Recorded, project_id: int) -> None:
    facts = _facts(view, project_id)
    if facts is None:
        return
    for public_key, key_id, active in view.execute(
        "SELECT public_key, key_id, active FROM {keys} WHERE project_id = %s", (project_id,)
    ):
        rev = uuid.uuid5(REV_NAMESPACE, f"{public_key}:{rec.position}").hex
        doc = document(facts, KeyFacts(public_key, key_id, bool(active)), rev, rec.at)
        encoded = json.dumps(doc, sort_keys=True)
        view.execute(
            "INSERT INTO {documents} (public_key, project_id, organization_id, document, rev, position) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (public_key) DO UPDATE SET "
            "document = excluded.document, rev = excluded.rev, position = excluded.position",
            (public_key, project_id, facts.organization_id, encoded, rev, rec.position),
        )
        view.emit((public_key, encoded))


def _facts(view: View, project_id: int) -> ProjectFacts | None:
    rows = view.execute(
        "SELECT p.organization_id, p.slug, p.active, p.options, o.options, o.trusted_relays "
        "FROM {projects} p LEFT JOIN {organizations} o ON o.organization_id = p.organization_id "
        "WHERE p.project_id = %s",
        (project_id,),
    )
    if not rows:
        return None
    org_id, slug, active, options, org_options, trusted = rows[0]
    return ProjectFacts(
        project_id=project_id,
        organization_id=org_id,
        slug=slug,
        active=bool(active),
        options=json.loads(options),
        organization_options=json.loads(org_options or "{}"),
        trusted_relays=tuple(json.loads(trusted or "[]")),
    )


def documents(view: View, public_keys: list[str]) -> dict[str, str]:
    """Stored documents (JSON text) by public key, for the keys that have one."""
    if not public_keys:
        return {}
    marks = ", ".join(["%s"] * len(public_keys))
    rows = view.execute(
        f"SELECT public_key, document FROM {{documents}} WHERE public_key IN ({marks})", public_keys
    )
    return dict(rows)


def project_documents(view: View, project_id: int) -> list[str]:
    rows = view.execute(
        "SELECT document FROM {documents} WHERE project_id = %s ORDER BY public_key", (project_id,)
    )
    return [r[0] for r in rows]


def stored_document(view: View, public_key: str) -> tuple[str, int] | None:
    """The document and the log position that last changed it."""
    rows = view.execute("SELECT document, position FROM {documents} WHERE public_key = %s", (public_key,))
    return (rows[0][0], rows[0][1]) if rows else None
