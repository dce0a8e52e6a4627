"""Issues (groups): status, inbox, activity, group history and the commits that resolve them."""

from __future__ import annotations

import json
from typing import Any

from events import Recorded
from events.groups import GroupCreated, GroupResolvedInCommit, GroupResolvedInRelease
from projections.base import Projection, View, on

# Sentry's GroupHistoryStatus values for what we record.
SET_RESOLVED_IN_RELEASE = 11
SET_RESOLVED_IN_COMMIT = 12
HISTORY_NAMES = {
    SET_RESOLVED_IN_RELEASE: "set_resolved_in_release",
    SET_RESOLVED_IN_COMMIT: "set_resolved_in_commit",
}
INBOX_NEW = 0  # GroupInboxReason.NEW


class Groups(Projection):
    name = "groups"
    tables = {
        "groups": "id BIGINT PRIMARY KEY, organization_id BIGINT NOT NULL, project_id BIGINT NOT NULL, "
        "short_id INTEGER NOT NULL, title TEXT NOT NULL, culprit TEXT, first_release TEXT, "
        "status TEXT NOT NULL, resolved_at TEXT, resolution TEXT, first_seen TEXT NOT NULL",
        "inbox": "group_id BIGINT PRIMARY KEY, reason INTEGER NOT NULL, date_added TEXT NOT NULL",
        "activity": "group_id BIGINT NOT NULL, position BIGINT NOT NULL, type TEXT NOT NULL, "
        "data TEXT NOT NULL, datetime TEXT NOT NULL, PRIMARY KEY (group_id, position)",
        "history": "group_id BIGINT NOT NULL, position BIGINT NOT NULL, status INTEGER NOT NULL, "
        "release TEXT, date_added TEXT NOT NULL, PRIMARY KEY (group_id, position)",
        "links": "group_id BIGINT NOT NULL, repository_id BIGINT NOT NULL, commit_key TEXT NOT NULL, "
        "PRIMARY KEY (group_id, repository_id, commit_key)",
    }
    indexes = ("{groups} (project_id, short_id)",)

    @on(GroupCreated)
    def _created(self, view: View, rec: Recorded) -> None:
        e = rec.event
        assert isinstance(e, GroupCreated)
        at = rec.stamp
        view.execute(
            "INSERT INTO {groups} (id, organization_id, project_id, short_id, title, culprit, first_release, "
            "status, first_seen) VALUES (%s, %s, %s, %s, %s, %s, %s, 'unresolved', %s)",
            (
                e.group_id,
                e.organization_id,
                e.project_id,
                e.short_id,
                e.title,
                e.culprit,
                e.first_release,
                at,
            ),
        )
        view.execute(
            "INSERT INTO {inbox} (group_id, reason, date_added) VALUES (%s, %s, %s)",
            (e.group_id, INBOX_NEW, at),
        )

    @on(GroupResolvedInCommit)
    def _in_commit(self, view: View, rec: Recorded) -> None:
        """``resolved_in_commit``: link, activity, resolved, out of the inbox, history."""
        e = rec.event
        assert isinstance(e, GroupResolvedInCommit)
        at = rec.stamp
        view.execute(
            "INSERT INTO {links} (group_id, repository_id, commit_key) VALUES (%s, %s, %s) "
            "ON CONFLICT DO NOTHING",
            (e.group_id, e.repository_id, e.commit),
        )
        data = {"commit": {"id": e.commit, "repository": e.repository}}
        view.execute(
            "INSERT INTO {activity} (group_id, position, type, data, datetime) "
            "VALUES (%s, %s, 'set_resolved_in_commit', %s, %s)",
            (e.group_id, rec.position, json.dumps(data), at),
        )
        _resolve(view, e.group_id, at, None, rec.position, SET_RESOLVED_IN_COMMIT)

    @on(GroupResolvedInRelease)
    def _in_release(self, view: View, rec: Recorded) -> None:
        e = rec.event
        assert isinstance(e, GroupResolvedInRelease)
        _resolve(view, e.group_id, rec.stamp, e.version, rec.position, SET_RESOLVED_IN_RELEASE)


def _resolve(view: View, group_id: int, at: str, version: str | None, position: Any, history: int) -> None:
    """Resolved, and ``remove_group_from_inbox(action=RESOLVED)``: the inbox row goes (no
    activity of its own: only MARK_REVIEWED records one)."""
    view.execute(
        "UPDATE {groups} SET status = 'resolved', resolved_at = %s, resolution = COALESCE(%s, resolution) "
        "WHERE id = %s",
        (at, version, group_id),
    )
    view.execute("DELETE FROM {inbox} WHERE group_id = %s", (group_id,))
    view.execute(
        "INSERT INTO {history} (group_id, position, status, release, date_added) VALUES (%s, %s, %s, %s, %s)",
        (group_id, position, history, version, at),
    )


GROUP_COLUMNS = (
    "id, organization_id, project_id, short_id, title, culprit, first_release, status, resolved_at, "
    "resolution, first_seen"
)


def find_group(view: View, organization_id: int, group_id: int) -> dict[str, Any] | None:
    rows = view.execute(
        f"SELECT {GROUP_COLUMNS} FROM {{groups}} WHERE organization_id = %s AND id = %s",
        (organization_id, group_id),
    )
    if not rows:
        return None
    group = dict(zip([c.strip() for c in GROUP_COLUMNS.split(",")], rows[0], strict=True))
    inbox = view.execute("SELECT reason, date_added FROM {inbox} WHERE group_id = %s", (group_id,))
    group["inbox"] = (
        {"reason": inbox[0][0], "reason_details": None, "date_added": inbox[0][1]} if inbox else None
    )
    return group


def references_release(view: View, organization_id: int, version: str) -> bool:
    """Some issue of the organization was first seen in this release."""
    rows = view.execute(
        "SELECT 1 FROM {groups} WHERE organization_id = %s AND first_release = %s LIMIT 1",
        (organization_id, version),
    )
    return bool(rows)


def group_by_short_id(view: View, project_id: int, short_id: int) -> int | None:
    rows = view.execute(
        "SELECT id FROM {groups} WHERE project_id = %s AND short_id = %s", (project_id, short_id)
    )
    return rows[0][0] if rows else None


def group_ids(view: View, organization_id: int, ids: list[int]) -> set[int]:
    if not ids:
        return set()
    rows = view.execute(
        f"SELECT id FROM {{groups}} WHERE organization_id = %s AND id IN ({', '.join(['%s'] * len(ids))})",
        (organization_id, *ids),
    )
    return {r[0] for r in rows}


def activity(view: View, group_id: int) -> list[dict[str, Any]]:
    rows = view.execute(
        "SELECT position, type, data, datetime FROM {activity} WHERE group_id = %s ORDER BY position DESC",
        (group_id,),
    )
    return [
        {"id": str(pos), "type": kind, "data": json.loads(data), "dateCreated": when}
        for pos, kind, data, when in rows
    ]


def history(view: View, group_id: int) -> list[dict[str, Any]]:
    rows = view.execute(
        "SELECT position, status, release, date_added FROM {history} WHERE group_id = %s ORDER BY position",
        (group_id,),
    )
    return [
        {"id": str(pos), "status": HISTORY_NAMES.get(status, str(status)), "statusId": status,
         "release": release, "dateAdded": when}
        for pos, status, release, when in rows
    ]  # fmt: skip


def new_groups(view: View, organization_id: int, versions: list[str]) -> dict[tuple[str, int], int]:
    """Sentry's ``ReleaseProject.new_groups``: per (release version, project), the issues first
    seen in that release."""
    if not versions:
        return {}
    rows = view.execute(
        "SELECT first_release, project_id, COUNT(*) FROM {groups} WHERE organization_id = %s AND "
        f"first_release IN ({', '.join(['%s'] * len(versions))}) GROUP BY first_release, project_id",
        (organization_id, *versions),
    )
    return {(version, project_id): count for version, project_id, count in rows}
