"""What the relay_configs projection collects while it folds a batch, and how it writes it.

Handlers change rows in memory (each project's and organization's row read once per batch,
most in ``load``) and note which documents the batch changed. ``write`` then stores the rows
with a few set-wise statements and renders each changed document once, however many events
of the batch touched it. A document's ``rev`` and ``lastChange`` come from the last event of
the log that changed it (its own key's, its project's or its organization's): the same bytes
whatever the batches were, so a rebuild reproduces them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from events import Recorded
from projections.base import View
from projections.json_text import dumps
from projections.option_changes import rendered
from projections.relay_document import KeyFacts, ProjectFacts, document, minimal
from projections.relay_encoding import encode

REV_NAMESPACE = uuid.UUID("0e6c1c9e-55b4-4c55-9a6a-7e1a7c0f5d21")
TRUSTED_RELAYS_OPTION = "sentry:trusted-relays"
CHUNK = 500  # ids per IN list: within every SQLite's limit of bound parameters


@dataclass
class ProjectRow:
    organization_id: int
    slug: str
    active: bool
    options: dict[str, Any]


@dataclass(frozen=True)
class KeyRow:
    project_id: int
    key_id: int
    active: bool


@dataclass
class Batch:
    projects: dict[int, ProjectRow | None] = field(default_factory=dict)  # None: not in the view
    organizations: dict[int, dict[str, Any]] = field(default_factory=dict)  # their options
    keys: dict[str, KeyRow | None] = field(default_factory=dict)  # None: removed
    dirty_projects: set[int] = field(default_factory=set)
    dirty_organizations: set[int] = field(default_factory=set)
    # The last event of the batch that changed the documents of a project, key, organization.
    project_changes: dict[int, Recorded] = field(default_factory=dict)
    key_changes: dict[str, Recorded] = field(default_factory=dict)
    organization_changes: dict[int, Recorded] = field(default_factory=dict)

    def load(self, view: View, project_ids: Iterable[int], organization_ids: Iterable[int]) -> None:
        """Read the rows of these projects and organizations, those not read yet, in bulk."""
        wanted = sorted({p for p in project_ids if p not in self.projects})
        for chunk in _chunks(wanted):
            self.projects.update(dict.fromkeys(chunk))
            rows = view.execute(
                "SELECT project_id, organization_id, slug, active, options FROM {projects} "
                f"WHERE project_id IN ({_marks(chunk)})",
                chunk,
            )
            for project_id, org_id, slug, active, options in rows:
                self.projects[project_id] = ProjectRow(org_id, slug, bool(active), json.loads(options))
        wanted = sorted({o for o in organization_ids if o not in self.organizations})
        for chunk in _chunks(wanted):
            self.organizations.update({o: {} for o in chunk})
            rows = view.execute(
                "SELECT organization_id, options FROM {organizations} "
                f"WHERE organization_id IN ({_marks(chunk)})",
                chunk,
            )
            self.organizations.update({o: json.loads(options) for o, options in rows})

    def project(self, view: View, project_id: int) -> ProjectRow | None:
        if project_id not in self.projects:  # most were loaded by ``prepare``
            self.load(view, (project_id,), ())
        return self.projects[project_id]

    def organization(self, view: View, organization_id: int) -> dict[str, Any]:
        self.load(view, (), (organization_id,))
        return self.organizations[organization_id]

    def changed_project(self, project_id: int, rec: Recorded) -> None:
        self.dirty_projects.add(project_id)
        self.project_changes[project_id] = rec

    def write(self, view: View) -> None:
        """Store the changed rows, drop removed keys, render every changed document once."""
        for project_id in self.dirty_projects:
            row = self.projects[project_id]
            if row is not None:  # option values the batch left unrendered (``Entries``)
                row.options = {k: rendered(v) for k, v in row.options.items()}
        view.executemany(
            "INSERT INTO {projects} (project_id, organization_id, slug, active, options) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (project_id) DO UPDATE SET "
            "slug = excluded.slug, active = excluded.active, options = excluded.options",
            [_project_values(p, self.projects[p]) for p in sorted(self.dirty_projects) if self.projects[p]],
        )
        view.executemany(
            "INSERT INTO {organizations} (organization_id, options, trusted_relays) VALUES (%s, %s, %s) "
            "ON CONFLICT (organization_id) DO UPDATE SET options = excluded.options, "
            "trusted_relays = excluded.trusted_relays",
            [_organization_values(o, self.organizations[o]) for o in sorted(self.dirty_organizations)],
        )
        self._write_keys(view)
        _render(view, self._targets(view))

    def _write_keys(self, view: View) -> None:
        kept = sorted((k, r) for k, r in self.keys.items() if r is not None)
        view.executemany(
            "INSERT INTO {keys} (public_key, project_id, key_id, active) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (public_key) DO UPDATE SET active = excluded.active",
            [(k, r.project_id, r.key_id, int(r.active)) for k, r in kept],
        )
        removed = sorted((k,) for k, r in self.keys.items() if r is None)
        view.executemany("DELETE FROM {keys} WHERE public_key = %s", removed)
        view.executemany("DELETE FROM {documents} WHERE public_key = %s", removed)
        for (public_key,) in removed:
            view.emit((public_key, None))  # its cached documents go too

    def _targets(self, view: View) -> dict[str, tuple[KeyRow, Recorded]]:
        """Every document to render, with the event that last changed it."""
        marks = dict(self.project_changes)
        orgs = sorted(self.organization_changes)
        for chunk in _chunks(orgs):  # an organization's options are in each of its projects' documents
            for project_id, organization_id in view.execute(
                "SELECT project_id, organization_id FROM {projects} "
                f"WHERE organization_id IN ({_marks(chunk)})",
                chunk,
            ):
                marks[project_id] = _later(marks.get(project_id), self.organization_changes[organization_id])
        targets: dict[str, tuple[KeyRow, Recorded]] = {}
        for chunk in _chunks(sorted(marks)):
            for public_key, project_id, key_id, active in view.execute(
                "SELECT public_key, project_id, key_id, active FROM {keys} "
                f"WHERE project_id IN ({_marks(chunk)})",
                chunk,
            ):
                targets[public_key] = (KeyRow(project_id, key_id, bool(active)), marks[project_id])
        for public_key, rec in self.key_changes.items():
            key = self.keys.get(public_key)
            if key is not None:
                targets[public_key] = (key, _later(marks.get(key.project_id), rec))
        return targets


def _render(view: View, targets: dict[str, tuple[KeyRow, Recorded]]) -> None:
    facts = _facts(view, {key.project_id for key, _ in targets.values()})
    rows = []
    for public_key in sorted(targets):
        key, rec = targets[public_key]
        project = facts.get(key.project_id)
        if project is None:  # a key of a project this view never saw created
            continue
        rev = uuid.uuid5(REV_NAMESPACE, f"{public_key}:{rec.position}").hex
        doc = document(project, KeyFacts(public_key, key.key_id, key.active), rev, rec.at)
        full, small = encode(doc), encode(minimal(doc))
        rows.append((public_key, key.project_id, project.organization_id, full, small, rev, rec.position))
        view.emit((public_key, (full, small)))
    view.executemany(
        "INSERT INTO {documents} (public_key, project_id, organization_id, document, minimal, rev, position) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (public_key) DO UPDATE SET "
        "document = excluded.document, minimal = excluded.minimal, rev = excluded.rev, "
        "position = excluded.position",
        rows,
    )


def _facts(view: View, project_ids: set[int]) -> dict[int, ProjectFacts]:
    """Each project's facts as stored (after this batch's writes), read in bulk."""
    facts = {}
    for chunk in _chunks(sorted(project_ids)):
        for project_id, org_id, slug, active, options, org_options, trusted in view.execute(
            "SELECT p.project_id, p.organization_id, p.slug, p.active, p.options, o.options, "
            "o.trusted_relays FROM {projects} p LEFT JOIN {organizations} o "
            f"ON o.organization_id = p.organization_id WHERE p.project_id IN ({_marks(chunk)})",
            chunk,
        ):
            facts[project_id] = ProjectFacts(
                project_id=project_id,
                organization_id=org_id,
                slug=slug,
                active=bool(active),
                options=json.loads(options),
                organization_options=json.loads(org_options or "{}"),
                trusted_relays=tuple(json.loads(trusted or "[]")),
            )
    return facts


def trusted_relays(options: dict[str, Any]) -> list[str]:
    return [r["public_key"] for r in options.get(TRUSTED_RELAYS_OPTION) or [] if isinstance(r, dict)]


def _project_values(project_id: int, row: ProjectRow | None) -> tuple[Any, ...]:
    assert row is not None
    options = dumps(row.options, sort_keys=True)
    return (project_id, row.organization_id, row.slug, int(row.active), options)


def _organization_values(organization_id: int, options: dict[str, Any]) -> tuple[Any, ...]:
    return (organization_id, dumps(options, sort_keys=True), dumps(trusted_relays(options)))


def _later(current: Recorded | None, rec: Recorded) -> Recorded:
    assert rec.position is not None
    return rec if current is None or (current.position or 0) < rec.position else current


def _chunks(ids: list[Any]) -> list[list[Any]]:
    return [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]


def _marks(chunk: list[Any]) -> str:
    return ", ".join(["%s"] * len(chunk))
