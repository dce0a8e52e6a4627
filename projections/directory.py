"""Organizations, projects and tokens by slug and id: what routes resolve names with."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from events import Recorded
from events.organizations import ApiTokenCreated, OrganizationCreated, OrganizationEdited
from events.projects import ProjectBookmarkSet, ProjectCreated, ProjectRemoved, ProjectUpdated
from projections.base import Projection, View, on


@dataclass(frozen=True)
class OrganizationRow:
    id: int
    slug: str
    name: str
    date_created: str


@dataclass(frozen=True)
class ProjectRow:
    id: int
    organization_id: int
    slug: str
    name: str
    platform: str | None
    status: str
    date_created: str


class Directory(Projection):
    name = "directory"
    tables = {
        "organizations": "id BIGINT PRIMARY KEY, slug TEXT NOT NULL UNIQUE, name TEXT NOT NULL, "
        "date_created TEXT NOT NULL",
        "projects": "id BIGINT PRIMARY KEY, organization_id BIGINT NOT NULL, slug TEXT NOT NULL, "
        "name TEXT NOT NULL, platform TEXT, status TEXT NOT NULL, date_created TEXT NOT NULL",
        "tokens": "id BIGINT PRIMARY KEY, organization_id BIGINT NOT NULL, label TEXT NOT NULL, "
        "scopes TEXT NOT NULL, last_characters TEXT NOT NULL, date_created TEXT NOT NULL",
        # Sentry's ProjectRedirect: a slug a project was renamed from still finds it.
        "project_redirects": "organization_id BIGINT NOT NULL, redirect_slug TEXT NOT NULL, "
        "project_id BIGINT NOT NULL, PRIMARY KEY (organization_id, redirect_slug)",
        "project_bookmarks": "project_id BIGINT NOT NULL, token_id BIGINT NOT NULL, "
        "PRIMARY KEY (project_id, token_id)",
    }
    indexes = ("{projects} (organization_id, slug)", "{tokens} (organization_id)")

    @on(OrganizationCreated)
    def _organization(self, view: View, rec: Recorded) -> None:
        e = rec.event
        assert isinstance(e, OrganizationCreated)
        view.execute(
            "INSERT INTO {organizations} (id, slug, name, date_created) VALUES (%s, %s, %s, %s)",
            (e.organization_id, e.slug, e.name, rec.stamp),
        )

    @on(ProjectCreated)
    def _project(self, view: View, rec: Recorded) -> None:
        e = rec.event
        assert isinstance(e, ProjectCreated)
        view.execute(
            "INSERT INTO {projects} (id, organization_id, slug, name, platform, status, date_created) "
            "VALUES (%s, %s, %s, %s, %s, 'active', %s)",
            (e.project_id, e.organization_id, e.slug, e.name, e.platform, rec.stamp),
        )

    @on(OrganizationEdited)
    def _organization_edited(self, view: View, rec: Recorded) -> None:
        e = rec.event
        assert isinstance(e, OrganizationEdited)
        view.execute(
            "UPDATE {organizations} SET slug = %s, name = %s WHERE id = %s",
            (e.slug, e.name, e.organization_id),
        )

    @on(ProjectUpdated)
    def _project_updated(self, view: View, rec: Recorded) -> None:
        e = rec.event
        assert isinstance(e, ProjectUpdated)
        view.execute(
            "UPDATE {projects} SET slug = %s, name = %s, platform = %s WHERE id = %s",
            (e.slug, e.name, e.platform, e.project_id),
        )
        if e.previous_slug != e.slug:  # Sentry's ProjectRedirect.record
            view.execute(
                "INSERT INTO {project_redirects} (organization_id, redirect_slug, project_id) "
                "VALUES (%s, %s, %s) ON CONFLICT (organization_id, redirect_slug) "
                "DO UPDATE SET project_id = excluded.project_id",
                (e.organization_id, e.previous_slug, e.project_id),
            )

    @on(ProjectRemoved)
    def _project_removed(self, view: View, rec: Recorded) -> None:
        """Pending deletion, under a random slug (Sentry's ``rename_on_pending_deletion``)."""
        e = rec.event
        assert isinstance(e, ProjectRemoved)
        view.execute(
            "UPDATE {projects} SET slug = %s, status = 'pending_deletion' WHERE id = %s",
            (e.renamed_slug, e.project_id),
        )

    @on(ProjectBookmarkSet)
    def _bookmark(self, view: View, rec: Recorded) -> None:
        e = rec.event
        assert isinstance(e, ProjectBookmarkSet)
        view.execute(
            "DELETE FROM {project_bookmarks} WHERE project_id = %s AND token_id = %s",
            (e.project_id, e.token_id),
        )
        if e.bookmarked:
            view.execute(
                "INSERT INTO {project_bookmarks} (project_id, token_id) VALUES (%s, %s)",
                (e.project_id, e.token_id),
            )

    @on(ApiTokenCreated)
    def _token(self, view: View, rec: Recorded) -> None:
        e = rec.event
        assert isinstance(e, ApiTokenCreated)
        view.execute(
            "INSERT INTO {tokens} (id, organization_id, label, scopes, last_characters, date_created) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            (
                e.token_id,
                e.organization_id,
                e.label,
                json.dumps(list(e.scopes)),
                e.token_last_characters,
                rec.stamp,
            ),
        )


ORG_COLUMNS = "id, slug, name, date_created"
PROJECT_COLUMNS = "id, organization_id, slug, name, platform, status, date_created"


def numeric_id(text: str) -> int | None:
    """An id as a path names it: ASCII digits ("²".isdigit() too, and int() refuses it) within
    the signed 64-bit range of the id columns; anything else names no row."""
    if len(text) <= 19 and text.isascii() and text.isdigit() and int(text) < 2**63:
        return int(text)
    return None


def find_organization(view: View, slug_or_id: str) -> OrganizationRow | None:
    """By slug, or by numeric id (Sentry accepts both in paths)."""
    rows = view.execute(f"SELECT {ORG_COLUMNS} FROM {{organizations}} WHERE slug = %s", (slug_or_id.lower(),))
    if not rows and (number := numeric_id(slug_or_id)) is not None:
        rows = view.execute(f"SELECT {ORG_COLUMNS} FROM {{organizations}} WHERE id = %s", (number,))
    return OrganizationRow(*rows[0]) if rows else None


def find_project(view: View, organization_id: int, slug_or_id: str) -> ProjectRow | None:
    rows = view.execute(
        f"SELECT {PROJECT_COLUMNS} FROM {{projects}} WHERE organization_id = %s AND slug = %s",
        (organization_id, slug_or_id.lower()),
    )
    if not rows and (number := numeric_id(slug_or_id)) is not None:
        rows = view.execute(
            f"SELECT {PROJECT_COLUMNS} FROM {{projects}} WHERE organization_id = %s AND id = %s",
            (organization_id, number),
        )
    return ProjectRow(*rows[0]) if rows else None


def find_redirect(view: View, organization_id: int, slug: str) -> ProjectRow | None:
    """The active project ``slug`` was renamed from, in that organization."""
    rows = view.execute(
        f"SELECT {PROJECT_COLUMNS} FROM {{projects}} WHERE status = 'active' AND id = "
        "(SELECT project_id FROM {project_redirects} WHERE organization_id = %s AND redirect_slug = %s)",
        (organization_id, slug.lower()),
    )
    return ProjectRow(*rows[0]) if rows else None


def bookmarked(view: View, token_id: int, project_ids: list[int]) -> set[int]:
    """Which of ``project_ids`` the token has starred."""
    if not project_ids:
        return set()
    marks = ", ".join(["%s"] * len(project_ids))
    rows = view.execute(
        f"SELECT project_id FROM {{project_bookmarks}} WHERE token_id = %s AND project_id IN ({marks})",
        (token_id, *project_ids),
    )
    return {r[0] for r in rows}


def list_organizations(view: View) -> list[OrganizationRow]:
    return [
        OrganizationRow(*r)
        for r in view.execute(f"SELECT {ORG_COLUMNS} FROM {{organizations}} ORDER BY slug")
    ]


def list_projects(view: View, organization_id: int) -> list[ProjectRow]:
    rows = view.execute(
        f"SELECT {PROJECT_COLUMNS} FROM {{projects}} WHERE organization_id = %s ORDER BY slug",
        (organization_id,),
    )
    return [ProjectRow(*r) for r in rows]


def list_tokens(view: View, organization_id: int) -> list[dict[str, Any]]:
    rows = view.execute(
        "SELECT id, label, scopes, last_characters, date_created FROM {tokens} WHERE organization_id = %s "
        "ORDER BY id",
        (organization_id,),
    )
    return [
        {
            "id": r[0],
            "label": r[1],
            "scopes": json.loads(r[2]),
            "tokenLastCharacters": r[3],
            "dateCreated": r[4],
        }
        for r in rows
    ]
