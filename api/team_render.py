"""Response bodies for teams, shaped like Sentry's ``TeamSerializer``. Tokens act for a user who
is no member of any team: ``isMember`` is false, ``memberCount`` 0."""

from __future__ import annotations

from typing import Any

from api import context
from api.consistency import consistent
from api.project_render import iso
from projections import teams

TEAM_ACCESS_PREFIXES = ("team:", "project:", "event:", "alerts:")


def render_team(team_id: int, slug: str, name: str, date_created: str) -> dict[str, Any]:
    scopes = context.principal().scopes
    return {
        "id": str(team_id),
        "slug": slug,
        "name": name,
        "dateCreated": iso(date_created),
        "isMember": False,
        "teamRole": None,
        "flags": {"idp:provisioned": False},
        "access": sorted(s for s in scopes if s.startswith(TEAM_ACCESS_PREFIXES)),
        "hasAccess": True,
        "isPending": False,
        "memberCount": 0,
        "avatar": {"avatarType": "letter_avatar", "avatarUuid": None},
    }


def organization_teams(organization_id: int) -> list[dict[str, Any]]:
    """The organization's teams, by slug, as the caller last wrote them."""
    consistent(["teams"])
    with context.services().engine.read("teams") as view:
        rows = teams.list_teams(view, organization_id)
    return [render_team(t.id, t.slug, t.name, t.date_created) for t in rows]
