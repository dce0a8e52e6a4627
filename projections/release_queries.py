"""Reads of the releases view (``projections.releases``)."""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime
from typing import Any

from projections import release_search
from projections.base import View

RELEASE_COLUMNS = (
    "id, organization_id, version, status, ref, url, owner, user_agent, date_added, date_released, "
    "commit_count, last_commit, authors, total_deploys, last_deploy"
)
SORT_DATE = "COALESCE(r.date_released, r.date_added)"


def _release(view: View, row: tuple[Any, ...]) -> dict[str, Any]:
    return _releases(view, [row])[0]


def _releases(view: View, rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Release rows as dicts, with each release's projects: one query for all of them."""
    names = [c.strip() for c in RELEASE_COLUMNS.split(",")]
    releases = [dict(zip(names, row, strict=True)) for row in rows]
    if not releases:
        return []
    projects: dict[int, list[int]] = {r["id"]: [] for r in releases}
    linked = view.execute(
        f"SELECT release_id, project_id FROM {{release_projects}} WHERE release_id IN "
        f"({', '.join(['%s'] * len(projects))}) ORDER BY release_id, project_id",
        tuple(projects),
    )
    for release_id, project_id in linked:
        projects[release_id].append(project_id)
    for release in releases:
        release["last_commit"] = json.loads(release["last_commit"]) if release["last_commit"] else None
        release["authors"] = json.loads(release["authors"])
        release["last_deploy"] = json.loads(release["last_deploy"]) if release["last_deploy"] else None
        release["project_ids"] = tuple(projects[release["id"]])
    return releases


def find_release(view: View, organization_id: int, version: str) -> dict[str, Any] | None:
    rows = view.execute(
        f"SELECT {RELEASE_COLUMNS} FROM {{releases}} WHERE organization_id = %s AND version = %s",
        (organization_id, version),
    )
    return _release(view, rows[0]) if rows else None


def list_releases(
    view: View,
    organization_id: int,
    project_ids: tuple[int, ...] | None,
    status: str | None,
    query: str | None,
    offset: int,
    limit: int,
    by_release_date: bool = False,
    environments: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Newest first (``date_added``, or the release date when set with ``by_release_date``, as
    Sentry orders a project's releases); only releases of ``project_ids`` when given, and with
    ``environments`` only those deployed there (by one of ``project_ids``)."""
    where, params = ["r.organization_id = %s"], list[Any]([organization_id])
    if status is not None:
        where.append("r.status = %s")
        params.append(status)
    if query:
        where.append("LOWER(r.version) LIKE %s ESCAPE '\\'")
        params.append(f"%{_like(query.lower())}%")
    if project_ids is not None:
        if not project_ids:
            return []
        where.append(
            "EXISTS (SELECT 1 FROM {release_projects} rp WHERE rp.release_id = r.id AND rp.project_id IN "
            f"({', '.join(['%s'] * len(project_ids))}))"
        )
        params.extend(project_ids)
    if environments:  # Sentry's ``add_environment_to_queryset`` on ReleaseProjectEnvironment
        deployed = _in("e.environment", environments)
        if project_ids is not None:
            deployed += f" AND {_in('e.project_id', project_ids)}"
        where.append(
            "EXISTS (SELECT 1 FROM {release_project_environments} e WHERE e.release_id = r.id AND "
            + deployed
            + ")"
        )
        params.extend([*environments, *(project_ids or ())])
    rows = view.execute(
        f"SELECT {', '.join('r.' + c.strip() for c in RELEASE_COLUMNS.split(','))} FROM {{releases}} r "
        f"WHERE {' AND '.join(where)} ORDER BY {SORT_DATE if by_release_date else 'r.date_added'} DESC, "
        "r.id DESC LIMIT %s OFFSET %s",
        (*params, limit, offset),
    )
    return _releases(view, rows)


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def previous_with_commits(view: View, release: dict[str, Any]) -> dict[str, Any] | None:
    """The newest other release sharing a project, with commits, released/added no later."""
    return _previous(view, release, "AND r.last_commit IS NOT NULL AND " + SORT_DATE + " <= %s",
                     (release["date_released"] or release["date_added"],))  # fmt: skip


def previous_release(view: View, release: dict[str, Any]) -> dict[str, Any] | None:
    """``set_refs``' previous release: the newest other release sharing any project."""
    return _previous(view, release, "", ())


def _previous(
    view: View, release: dict[str, Any], condition: str, params: tuple[Any, ...]
) -> dict[str, Any] | None:
    if not release["project_ids"]:
        return None
    placeholders = ", ".join(["%s"] * len(release["project_ids"]))
    rows = view.execute(
        f"SELECT {', '.join('r.' + c.strip() for c in RELEASE_COLUMNS.split(','))} FROM {{releases}} r "
        f"WHERE r.organization_id = %s AND r.version <> %s {condition} AND EXISTS (SELECT 1 "
        f"FROM {{release_projects}} rp WHERE rp.release_id = r.id AND rp.project_id IN ({placeholders})) "
        f"ORDER BY {SORT_DATE} DESC, r.id DESC LIMIT 1",
        (release["organization_id"], release["version"], *params, *release["project_ids"]),
    )
    return _release(view, rows[0]) if rows else None


def head_commit(view: View, release_id: int, repository_id: int) -> str | None:
    rows = view.execute(
        "SELECT commit_key FROM {head_commits} WHERE release_id = %s AND repository_id = %s",
        (release_id, repository_id),
    )
    return rows[0][0] if rows else None


def release_commits(
    view: View, organization_id: int, release_id: int, offset: int, limit: int
) -> list[dict[str, Any]]:
    # The page of the list first, then its commits: the view writes a list's commits and
    # repositories with the list, so no row of the list lacks them. Joined first and limited
    # after, a list of 10,000 commits copied in a moment before (table statistics not yet
    # updated) was planned as a hash join of every commit and a sort: 160 ms for one row.
    rows = view.execute(
        "SELECT rc.commit_key, c.message, c.date_added, a.name, c.author_email, r.id, r.name, r.provider, "
        "r.url, r.status, r.date_added FROM (SELECT ord, repository_id, commit_key FROM {release_commits} "
        "WHERE release_id = %s ORDER BY ord LIMIT %s OFFSET %s) rc "
        "JOIN {commits} c ON c.organization_id = %s AND c.repository_id = rc.repository_id "
        "AND c.commit_key = rc.commit_key "
        "JOIN {repositories} r ON r.id = rc.repository_id "
        "LEFT JOIN {authors} a ON a.organization_id = c.organization_id AND a.email = c.author_email "
        "ORDER BY rc.ord",
        (release_id, limit, offset, organization_id),
    )
    return [
        {
            "id": key,
            "message": message,
            "dateCreated": date,
            "author": {"name": name, "email": email} if email else None,
            "repository": {"id": repo_id, "name": repo_name, "provider": provider, "url": url,
                           "status": status, "date_added": repo_date},
        }
        for key, message, date, name, email, repo_id, repo_name, provider, url, status, repo_date in rows
    ]  # fmt: skip


def deploys(
    view: View, release_id: int, project_ids: tuple[int, ...], offset: int, limit: int
) -> list[dict[str, Any]]:
    """Sentry's list: the last deploy of each (project, environment) of these projects."""
    if not project_ids:
        return []
    rows = view.execute(
        "SELECT id, environment, date_started, date_finished, name, url FROM {deploys} WHERE id IN "
        "(SELECT last_deploy_id FROM {release_project_environments} WHERE release_id = %s AND project_id IN "
        f"({', '.join(['%s'] * len(project_ids))})) ORDER BY date_finished DESC, id DESC LIMIT %s OFFSET %s",
        (release_id, *project_ids, limit, offset),
    )
    keys = ("id", "environment", "dateStarted", "dateFinished", "name", "url")
    return [{**dict(zip(keys, row, strict=True)), "id": str(row[0])} for row in rows]


REPOSITORY_COLUMNS = "id, name, provider, url, status, date_added, config"


def repositories(
    view: View, organization_id: int, status: str | None, query: str | None, offset: int, limit: int
) -> list[dict[str, Any]]:
    where, params = ["organization_id = %s"], list[Any]([organization_id])
    if status is not None:
        where.append("status = %s")
        params.append(status)
    if query:
        where.append("LOWER(name) LIKE %s ESCAPE '\\'")
        params.append(f"%{_like(query.lower())}%")
    rows = view.execute(
        f"SELECT {REPOSITORY_COLUMNS} FROM {{repositories}} WHERE {' AND '.join(where)} "
        "ORDER BY name, id LIMIT %s OFFSET %s",
        (*params, limit, offset),
    )
    return [_repository(row) for row in rows]


def find_repository(view: View, organization_id: int, name: str) -> dict[str, Any] | None:
    rows = view.execute(
        f"SELECT {REPOSITORY_COLUMNS} FROM {{repositories}} WHERE organization_id = %s AND name = %s",
        (organization_id, name),
    )
    return _repository(rows[0]) if rows else None


def _repository(row: tuple[Any, ...]) -> dict[str, Any]:
    repo = dict(zip([c.strip() for c in REPOSITORY_COLUMNS.split(",")], row, strict=True))
    repo["config"] = json.loads(repo["config"])
    return repo


def release_activity(view: View, project_id: int) -> list[dict[str, Any]]:
    rows = view.execute(
        "SELECT position, type, ident, data, datetime FROM {activity} WHERE project_id = %s "
        "ORDER BY position",
        (project_id,),
    )
    return [
        {"id": str(pos), "type": kind, "ident": ident, "data": json.loads(data), "dateCreated": when}
        for pos, kind, ident, data, when in rows
    ]


def _in(column: str, values: tuple[Any, ...] | list[Any]) -> str:
    return f"{column} IN ({', '.join(['%s'] * len(values))})"


def _meta_filters(
    project_ids: tuple[int, ...], environments: list[str] | None
) -> tuple[list[str], list[Any]]:
    """Releases of these projects (and, with environments, deployed there by one of them:
    Sentry's ``add_environment_to_queryset`` on ``ReleaseProjectEnvironment``)."""
    linked = _in("rp.project_id", project_ids)
    where = [f"EXISTS (SELECT 1 FROM {{release_projects}} rp WHERE rp.release_id = r.id AND {linked})"]
    params: list[Any] = list(project_ids)
    if environments:
        where.append(
            "EXISTS (SELECT 1 FROM {release_project_environments} e WHERE e.release_id = r.id AND "
            f"{_in('e.environment', environments)} AND {_in('e.project_id', project_ids)})"
        )
        params += [*environments, *project_ids]
    return where, params


def _first_version(
    view: View, organization_id: int, where: list[str], params: list[Any], order: str
) -> str | None:
    rows = view.execute(
        f"SELECT r.version FROM {{releases}} r WHERE r.organization_id = %s AND {' AND '.join(where)} "
        f"ORDER BY {order} LIMIT 1",
        (organization_id, *params),
    )
    return rows[0][0] if rows else None


def adjacent_versions(
    view: View,
    release: dict[str, Any],
    project_ids: tuple[int, ...],
    status: str,
    query: list[str],
    environments: list[str] | None,
) -> tuple[str | None, str | None]:
    """Sentry's release details on date sort: (the next newer, the next older) release by
    ``date_added`` then id, among these projects, status, version matches and environments."""
    where, params = _meta_filters(project_ids, environments)
    where.append("r.status = %s")
    params.append(status)
    if query:
        where.append("(" + " OR ".join(["LOWER(r.version) LIKE %s ESCAPE '\\'"] * len(query)) + ")")
        params += [f"%{_like(q.lower())}%" for q in query]
    added, rid = release["date_added"], release["id"]
    newer = _first_version(
        view, release["organization_id"],
        [*where, "(r.date_added > %s OR (r.date_added = %s AND r.id > %s))"], [*params, added, added, rid],
        "r.date_added, r.id",
    )  # fmt: skip
    older = _first_version(
        view, release["organization_id"],
        [*where, "(r.date_added < %s OR (r.date_added = %s AND r.id < %s))"], [*params, added, added, rid],
        "r.date_added DESC, r.id DESC",
    )  # fmt: skip
    return newer, older


def first_and_last_versions(
    view: View, organization_id: int, project_id: int, environments: list[str] | None
) -> tuple[str | None, str | None]:
    where, params = _meta_filters((project_id,), environments)
    first = _first_version(view, organization_id, where, params, "r.date_added, r.id")
    last = _first_version(view, organization_id, where, params, "r.date_added DESC, r.id DESC")
    return first, last


ALL = 10**9  # no limit: a search or a semver/build order reads every candidate release


def searched_releases(
    view: View,
    organization_id: int,
    project_ids: tuple[int, ...],
    status: str | None,
    query: str,
    sort: str,
    window: tuple[str, str] | None,
    environments: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Sentry's organization release list with ``query`` (``release_search``), a ``sort`` of
    ``date``, ``semver`` or ``build``, and a ``(start, end)`` window on ``date_added``."""
    rows = list_releases(view, organization_id, project_ids, status, None, 0, ALL, environments=environments)
    if window is not None:
        rows = [r for r in rows if window[0] <= _iso_utc(r["date_added"]) <= window[1]]
    if query:
        latest = functools.cache(lambda: _latest_versions(view, organization_id, project_ids))
        wanted = release_search.release_filter(query, latest)
        rows = [r for r in rows if wanted(r)]
    if sort == "semver":
        return release_search.semver_order(rows)
    if sort == "build":
        return release_search.build_order(rows)
    return rows


def _iso_utc(text: str) -> str:
    parsed = datetime.fromisoformat(text)
    return (parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)).isoformat()


def _latest_versions(view: View, organization_id: int, project_ids: tuple[int, ...]) -> set[str]:
    """``release:latest``: each project's latest release (Sentry's ``get_latest_release``)."""
    found = set()
    for project_id in project_ids:
        rows = list_releases(view, organization_id, (project_id,), None, None, 0, ALL)
        if (version := release_search.latest_version(rows)) is not None:
            found.add(version)
    return found


def deployed_projects(view: View, release_ids: list[int]) -> dict[int, list[int]]:
    """Per release, the projects it has ``ReleaseProjectEnvironment`` rows for (from deploys)."""
    if not release_ids:
        return {}
    rows = view.execute(
        "SELECT DISTINCT release_id, project_id FROM {release_project_environments} WHERE "
        f"{_in('release_id', release_ids)} ORDER BY release_id, project_id",
        tuple(release_ids),
    )
    found: dict[int, list[int]] = {}
    for release_id, project_id in rows:
        found.setdefault(release_id, []).append(project_id)
    return found
