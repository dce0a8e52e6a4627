"""Relay project configs: one stored document per public key (full, and the minimal variant
of non-full fetches), rebuilt whenever any of its inputs changes, and written through to Redis
(``relayconfig:{publicKey}``) by the engine. Stored pre-encoded in the layout of
``relay_encoding``, so a fetch only concatenates.

The document is deterministic in the log: its ``rev`` derives from the position of the event
that last changed it, so replaying a batch (or rebuilding the view) yields the same bytes.
Handlers collect a batch's changes (``relay_batch``); each changed document is rendered once,
at the end of the batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from events import Event, Recorded
from events.organizations import OrganizationEdited
from events.project_keys import ProjectKeyEvent, ProjectKeyRemoved
from events.projects import (
    ProjectCreated,
    ProjectRemoved,
    ProjectUpdated,
)
from projections.base import Projection, View, on
from projections.option_changes import OPTION_EVENTS, new_value_unrendered, option_change
from projections.relay_batch import Batch, KeyRow, ProjectRow

CACHE_PREFIX = "relayconfig:"
MINIMAL_CACHE_PREFIX = "relayconfig-minimal:"


class RelayConfigs(Projection):
    name = "relay_configs"
    # 2: lastChange in Sentry's form (Z), the health-check filter, quotas on public keys.
    # 3: documents in the stored layout of relay_encoding, with their minimal variant; a
    #    document changes only with its own inputs; a removed key's document is deleted.
    version = 3
    tables = {
        "projects": "project_id BIGINT PRIMARY KEY, organization_id BIGINT NOT NULL, slug TEXT NOT NULL, "
        "active INTEGER NOT NULL, options TEXT NOT NULL",
        "organizations": "organization_id BIGINT PRIMARY KEY, options TEXT NOT NULL, "
        "trusted_relays TEXT NOT NULL",
        "keys": "public_key TEXT PRIMARY KEY, project_id BIGINT NOT NULL, key_id BIGINT NOT NULL, "
        "active INTEGER NOT NULL",
        "documents": "public_key TEXT PRIMARY KEY, project_id BIGINT NOT NULL, "
        "organization_id BIGINT NOT NULL, document TEXT NOT NULL, minimal TEXT NOT NULL, "
        "rev TEXT NOT NULL, position BIGINT NOT NULL",
    }
    indexes = ("{keys} (project_id)", "{documents} (project_id)", "{projects} (organization_id)")

    def prepare(self, view: View, records: Sequence[Recorded]) -> None:
        projects = [p for p in map(_project_of, (r.event for r in records)) if p is not None]
        orgs = [r.event.organization_id for r in records if isinstance(r.event, OrganizationEdited)]
        view.scratch(Batch).load(view, projects, orgs)

    @on(ProjectCreated)
    def _project(self, view: View, rec: Recorded) -> None:
        e = rec.event
        assert isinstance(e, ProjectCreated)
        batch = view.scratch(Batch)
        batch.projects[e.project_id] = ProjectRow(e.organization_id, e.slug, True, {})
        batch.dirty_projects.add(e.project_id)

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
        set_project_fields(view, rec, e.project_id, active=False)

    @on(ProjectKeyEvent)
    def _key(self, view: View, rec: Recorded) -> None:
        e = rec.event
        assert isinstance(e, ProjectKeyEvent)
        batch = view.scratch(Batch)
        if isinstance(e, ProjectKeyRemoved):  # Relay then gets what an unknown key gets
            batch.keys[e.public_key] = None
            batch.key_changes.pop(e.public_key, None)
            return
        batch.keys[e.public_key] = KeyRow(e.project_id, e.key_id, e.is_active)
        batch.key_changes[e.public_key] = rec

    @on(OrganizationEdited)
    def _organization(self, view: View, rec: Recorded) -> None:
        e = rec.event
        assert isinstance(e, OrganizationEdited)
        if e.options or e.removed_options:
            update_organization(view, rec, e.organization_id, e.options, e.removed_options)

    def flush(self, view: View) -> None:
        batch, view.pending = view.pending, None
        if batch is not None:
            batch.write(view)

    def activate(self, view: View, since: int) -> None:
        """Write through what changed after ``since``; drop every other cached document (a
        rebuild may follow a change of the document's shape: the endpoint refills from the view)."""
        for (public_key,) in view.execute(
            "SELECT public_key FROM {documents} WHERE position <= %s", (since,)
        ):
            view.emit((public_key, None))
        for public_key, doc, small in view.execute(
            "SELECT public_key, document, minimal FROM {documents} WHERE position > %s", (since,)
        ):
            view.emit((public_key, (doc, small)))


def _project_of(event: Event) -> int | None:
    """The project whose row a handler of this event reads."""
    if isinstance(event, OPTION_EVENTS):
        return option_change(event)[0]
    if isinstance(event, (ProjectUpdated, ProjectRemoved)):
        return event.project_id
    return None


def set_project_option(view: View, rec: Recorded, project_id: int, key: str, value: Any) -> None:
    batch = view.scratch(Batch)
    row = batch.project(view, project_id)
    if row is None:
        return
    value = new_value_unrendered(value, lambda: row.options.get(key))  # rendered in Batch.write
    if value is None:
        row.options.pop(key, None)
    else:
        row.options[key] = value
    batch.changed_project(project_id, rec)


def set_project_fields(view: View, rec: Recorded, project_id: int, **fields: Any) -> None:
    """Change a project's slug or active flag; its documents follow."""
    batch = view.scratch(Batch)
    row = batch.project(view, project_id)
    if row is None:
        return
    for name, value in fields.items():
        assert name in ("slug", "active")
        setattr(row, name, value)
    batch.changed_project(project_id, rec)


def update_organization(
    view: View, rec: Recorded, organization_id: int, written: dict[str, Any], removed: tuple[str, ...] = ()
) -> None:
    """Apply the options an edit wrote and removed; every project of the organization follows."""
    batch = view.scratch(Batch)
    options = batch.organization(view, organization_id)
    options.update(written)
    for name in removed:
        options.pop(name, None)
    batch.dirty_organizations.add(organization_id)
    batch.organization_changes[organization_id] = rec


def documents(view: View, public_keys: list[str], full: bool = True) -> dict[str, str]:
    """Stored documents (JSON text, full or minimal) by public key, for the keys that have one."""
    if not public_keys:
        return {}
    marks = ", ".join(["%s"] * len(public_keys))
    column = "document" if full else "minimal"
    rows = view.execute(
        f"SELECT public_key, {column} FROM {{documents}} WHERE public_key IN ({marks})", public_keys
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
