"""Releases, their projects, commits, head commits, deploys; repositories and commit authors.

A commit list of any length is written with a handful of batched statements (executemany),
never a statement per commit from Python's side of the loop.
"""

from __future__ import annotations

import json
from itertools import repeat
from operator import itemgetter

from events import Recorded
from events.releases import (
    DeployCreated,
    ReleaseCommitsRecorded,
    ReleaseCommitsSet,
    ReleaseCreated,
    ReleaseDeleted,
    ReleaseHeadCommitsSet,
    ReleaseProjectsAdded,
    ReleaseUpdated,
    RepositoryAdded,
)
from projections.base import Projection, View, on
from projections.release_queries import find_release, previous_release

COMMIT_COLUMNS = "organization_id, repository_id, commit_key, message, author_email, date_added"
FILE_COLUMNS = "organization_id, repository_id, commit_key, filename, type"
LIST_COLUMNS = "release_id, ord, repository_id, commit_key"
# The columns' types, for binary COPYs (``View.copy_new``): as ``tables`` declares them.
COMMIT_TYPES = ("int8", "int8", "text", "text", "text", "text")
FILE_TYPES = ("int8", "int8", "text", "text", "text")
LIST_TYPES = ("int8", "int4", "int8", "text")
# A list's rows go into COPYs in the order of their primary key's text column (repository and
# file name aside: a list mostly names one repository, and a commit few files): the index
# entries land side by side, and a sort on one string costs a third of one on the key's tuple.
_BY_COMMIT_KEY = itemgetter(2)
# Emitted for a ``set_refs`` that fetches: the engine's effect enqueues the fetch job.
FETCH_COMMITS = "fetch_commits"


class Releases(Projection):
    name = "releases"
    tables = {
        "releases": "id BIGINT PRIMARY KEY, organization_id BIGINT NOT NULL, version TEXT NOT NULL, "
        "status TEXT NOT NULL, ref TEXT, url TEXT, owner TEXT, user_agent TEXT, date_added TEXT NOT NULL, "
        "date_released TEXT, commit_count INTEGER NOT NULL, last_commit TEXT, authors TEXT NOT NULL, "
        "total_deploys INTEGER NOT NULL, last_deploy TEXT, UNIQUE (organization_id, version)",
        "release_projects": "release_id BIGINT NOT NULL, project_id BIGINT NOT NULL, "
        "PRIMARY KEY (release_id, project_id)",
        "activity": "project_id BIGINT NOT NULL, position BIGINT NOT NULL, type TEXT NOT NULL, "
        "ident TEXT NOT NULL, data TEXT NOT NULL, datetime TEXT NOT NULL, PRIMARY KEY (project_id, position)",
        "head_commits": "release_id BIGINT NOT NULL, repository_id BIGINT NOT NULL, "
        "commit_key TEXT NOT NULL, PRIMARY KEY (release_id, repository_id)",
        "release_commits": "release_id BIGINT NOT NULL, ord INTEGER NOT NULL, "
        "repository_id BIGINT NOT NULL, commit_key TEXT NOT NULL, PRIMARY KEY (release_id, ord)",
        "commits": "organization_id BIGINT NOT NULL, repository_id BIGINT NOT NULL, "
        "commit_key TEXT NOT NULL, message TEXT, author_email TEXT, date_added TEXT NOT NULL, "
        "PRIMARY KEY (organization_id, repository_id, commit_key)",
        "file_changes": "organization_id BIGINT NOT NULL, repository_id BIGINT NOT NULL, "
        "commit_key TEXT NOT NULL, filename TEXT NOT NULL, type TEXT NOT NULL, "
        "PRIMARY KEY (organization_id, repository_id, commit_key, filename)",
        "authors": "organization_id BIGINT NOT NULL, email TEXT NOT NULL, name TEXT, "
        "PRIMARY KEY (organization_id, email)",
        "repositories": "id BIGINT PRIMARY KEY, organization_id BIGINT NOT NULL, name TEXT NOT NULL, "
        "provider TEXT, url TEXT, config TEXT NOT NULL, status TEXT NOT NULL, date_added TEXT NOT NULL, "
        "UNIQUE (organization_id, name)",
        "deploys": "id BIGINT PRIMARY KEY, release_id BIGINT NOT NULL, organization_id BIGINT NOT NULL, "
        "environment TEXT NOT NULL, name TEXT, url TEXT, date_started TEXT, date_finished TEXT NOT NULL",
        # Sentry's ReleaseProjectEnvironment as deploys make it: the last deploy per project and
        # environment (the deploy list and environment filters read it).
        "release_project_environments": "release_id BIGINT NOT NULL, project_id BIGINT NOT NULL, "
        "environment TEXT NOT NULL, last_deploy_id BIGINT NOT NULL, "
        "PRIMARY KEY (release_id, project_id, environment)",
    }
    indexes = (
        "{releases} (organization_id, date_added, id)",  # a page without sorting the organization
        "{release_projects} (project_id)",
        "{deploys} (release_id, date_finished)",
    )

    @on(ReleaseCreated)
    def _created(self, view: View, rec: Recorded) -> None:
        e = rec.event
        assert isinstance(e, ReleaseCreated)
        view.execute(
            "INSERT INTO {releases} (id, organization_id, version, status, ref, url, owner, user_agent, "
            "date_added, date_released, commit_count, last_commit, authors, total_deploys, last_deploy) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 0, NULL, '[]', 0, NULL)",
            (e.release_id, e.organization_id, e.version, e.status, e.ref, e.url, e.owner, e.user_agent,
             e.date_added, e.date_released),
        )  # fmt: skip

    @on(ReleaseProjectsAdded)
    def _projects(self, view: View, rec: Recorded) -> None:
        e = rec.event
        assert isinstance(e, ReleaseProjectsAdded)
        view.executemany(
            "INSERT INTO {release_projects} (release_id, project_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            [(e.release_id, p) for p in e.project_ids],
        )
        _release_activity(view, rec, e.activity_project_ids, e.version, e.date_released)

    @on(ReleaseUpdated)
    def _updated(self, view: View, rec: Recorded) -> None:
        e = rec.event
        assert isinstance(e, ReleaseUpdated)
        view.execute(
            "UPDATE {releases} SET ref = %s, url = %s, date_released = %s, status = %s WHERE id = %s",
            (e.ref, e.url, e.date_released, e.status, e.release_id),
        )
        _release_activity(view, rec, e.activity_project_ids, e.version, e.date_released)

    @on(ReleaseCommitsSet)
    def _summary(self, view: View, rec: Recorded) -> None:
        e = rec.event
        assert isinstance(e, ReleaseCommitsSet)
        view.execute(
            "UPDATE {releases} SET commit_count = %s, last_commit = %s, authors = %s WHERE id = %s",
            (e.commit_count, json.dumps(e.last_commit), json.dumps(list(e.authors)), e.release_id),
        )
        _heads(view, e.release_id, e.head_commits)

    @on(ReleaseHeadCommitsSet)
    def _refs(self, view: View, rec: Recorded) -> None:
        e = rec.event
        assert isinstance(e, ReleaseHeadCommitsSet)
        _heads(view, e.release_id, e.head_commits)
        if e.fetch:
            view.emit(
                {
                    "task": FETCH_COMMITS,
                    "release_id": e.release_id,
                    "organization_id": e.organization_id,
                    "version": e.version,
                    "user_id": e.user_id,
                    "refs": list(e.refs),
                    "position": rec.position,
                    "previous_release_id": _previous_release_id(view, e.organization_id, e.version),
                }
            )

    @on(ReleaseCommitsRecorded)
    def _commits(self, view: View, rec: Recorded) -> None:
        """Replace the release's commit list; upsert commits, authors and file changes. Rows
        are made from the event's columns; the list, and commits and file changes none of
        which the view holds yet (a new list, the usual case), go in one binary COPY each on
        PostgreSQL, sorted by commit key (each index entry then lands beside the one before:
        about half the server's time of the event's order)."""
        e = rec.event
        assert isinstance(e, ReleaseCommitsRecorded)
        org, now, ids, repos = e.organization_id, rec.stamp, e.ids, e.repository_ids
        view.execute("DELETE FROM {release_commits} WHERE release_id = %s", (e.release_id,))
        listed = list(zip(repeat(e.release_id), range(len(ids)), repos, ids))
        if not view.copy_new("release_commits", LIST_COLUMNS, listed, LIST_TYPES):
            view.executemany(
                f"INSERT INTO {{release_commits}} ({LIST_COLUMNS}) VALUES (%s, %s, %s, %s)", listed
            )
        named = zip(reversed(e.author_emails), reversed(e.author_names), strict=True)
        authors = {email: name for email, name in named if email}
        view.executemany(
            "INSERT INTO {authors} (organization_id, email, name) VALUES (%s, %s, %s) "
            "ON CONFLICT (organization_id, email) DO UPDATE SET name = excluded.name",
            [(org, email, name) for email, name in authors.items()],
        )
        _upsert_commits(view, org, e, now)
        files = list(
            zip(
                repeat(org),
                [repos[i] for i in e.file_commits],
                [ids[i] for i in e.file_commits],
                e.file_paths,
                e.file_types,
            )
        )
        if not view.copy_new("file_changes", FILE_COLUMNS, sorted(files, key=_BY_COMMIT_KEY), FILE_TYPES):
            view.executemany(
                f"INSERT INTO {{file_changes}} ({FILE_COLUMNS}) VALUES (%s, %s, %s, %s, %s) "
                "ON CONFLICT DO NOTHING",
                files,
            )

    @on(ReleaseDeleted)
    def _deleted(self, view: View, rec: Recorded) -> None:
        e = rec.event
        assert isinstance(e, ReleaseDeleted)
        for table in ("releases", "release_projects", "head_commits", "release_commits", "deploys",
                      "release_project_environments"):  # fmt: skip
            column = "id" if table == "releases" else "release_id"
            view.execute(f"DELETE FROM {{{table}}} WHERE {column} = %s", (e.release_id,))

    @on(DeployCreated)
    def _deploy(self, view: View, rec: Recorded) -> None:
        e = rec.event
        assert isinstance(e, DeployCreated)
        view.execute(
            "INSERT INTO {deploys} (id, release_id, organization_id, environment, name, url, date_started, "
            "date_finished) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (e.deploy_id, e.release_id, e.organization_id, e.environment, e.name, e.url, e.date_started,
             e.date_finished),
        )  # fmt: skip
        view.executemany(
            "INSERT INTO {release_project_environments} (release_id, project_id, environment, "
            "last_deploy_id) VALUES (%s, %s, %s, %s) ON CONFLICT (release_id, project_id, environment) "
            "DO UPDATE SET last_deploy_id = excluded.last_deploy_id",
            [(e.release_id, p, e.environment, e.deploy_id) for p in e.project_ids],
        )
        deploy = {"id": str(e.deploy_id), "environment": e.environment, "dateStarted": e.date_started,
                  "dateFinished": e.date_finished, "name": e.name, "url": e.url}  # fmt: skip
        view.execute(
            "UPDATE {releases} SET total_deploys = total_deploys + 1, last_deploy = %s WHERE id = %s",
            (json.dumps(deploy), e.release_id),
        )

    @on(RepositoryAdded)
    def _repository(self, view: View, rec: Recorded) -> None:
        e = rec.event
        assert isinstance(e, RepositoryAdded)
        view.execute(
            "INSERT INTO {repositories} (id, organization_id, name, provider, url, config, status, "
            "date_added) VALUES (%s, %s, %s, %s, %s, %s, 'active', %s)",
            (e.repository_id, e.organization_id, e.name, e.provider, e.url, json.dumps(e.config),
             rec.stamp),
        )  # fmt: skip


def _upsert_commits(view: View, org: int, e: ReleaseCommitsRecorded, now: str) -> None:
    """When each commit is listed once: one COPY of them all when none is in the view yet
    (PostgreSQL), else dated commits first, then undated, one statement per kind (with or without
    a date, a message), none with a parameter in its conflict clause: a large set is one COPY
    and one INSERT on PostgreSQL (infra/db.py). A commit listed twice is upserted row by row,
    in that order (its later entry updates what the earlier wrote)."""
    rows = list(
        zip(
            repeat(org),
            e.repository_ids,
            e.ids,
            e.messages,
            e.author_emails,
            [t or now for t in e.timestamps],
        )
    )
    twice = len(set(zip(e.repository_ids, e.ids, strict=True))) < len(rows)
    if not twice and view.copy_new("commits", COMMIT_COLUMNS, sorted(rows, key=_BY_COMMIT_KEY), COMMIT_TYPES):
        return  # new rows: a message not sent is null too
    dated = [bool(t) for t in e.timestamps]
    unsent = set(e.unsent_messages)
    if twice:
        for when in (True, False):
            kind = [(*r, 0 if i in unsent else 1) for i, r in enumerate(rows) if dated[i] is when]
            view.executemany(_commit_upsert(when, None), kind)
        return
    for when in (True, False):
        for with_message in (True, False):
            view.executemany(
                _commit_upsert(when, with_message),
                [r for i, r in enumerate(rows) if dated[i] is when and (i not in unsent) is with_message],
            )


def _commit_upsert(dated: bool, with_message: bool | None) -> str:
    """A commit seen again keeps its author unless given one, its message unless given one
    (even an empty one), its date unless given one (``with_message`` None: a last parameter
    of each row, 1 or 0, says whether it gives one)."""
    updates = ["author_email = COALESCE(excluded.author_email, {commits}.author_email)"]
    if with_message is None:  # a parameter of each row says
        updates.append("message = CASE WHEN %s = 1 THEN excluded.message ELSE {commits}.message END")
    elif with_message:
        updates.append("message = excluded.message")
    updates += ["date_added = excluded.date_added"] if dated else []
    return (
        f"INSERT INTO {{commits}} ({COMMIT_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (organization_id, repository_id, commit_key) "
        f"DO UPDATE SET {', '.join(updates)}"
    )


def _previous_release_id(view: View, organization_id: int, version: str) -> int | None:
    """Sentry's ``set_refs`` picks the previous release when the refs are set, not when the
    fetch runs: the view holds exactly the log up to this event, so the choice is the one a
    request would have made then, however long the job waits (and it is the same on replay)."""
    release = find_release(view, organization_id, version)
    previous = previous_release(view, release) if release is not None else None
    return int(previous["id"]) if previous is not None else None


def _heads(view: View, release_id: int, heads: dict[str, str]) -> None:
    view.executemany(
        "INSERT INTO {head_commits} (release_id, repository_id, commit_key) VALUES (%s, %s, %s) "
        "ON CONFLICT (release_id, repository_id) DO UPDATE SET commit_key = excluded.commit_key",
        [(release_id, int(repo), key) for repo, key in heads.items()],
    )


def _release_activity(
    view: View, rec: Recorded, project_ids: tuple[int, ...], version: str, date: str | None
) -> None:
    """Sentry's Activity RELEASE per project: ident ``version[:64]``, data ``{"version": ...}``."""
    view.executemany(
        "INSERT INTO {activity} (project_id, position, type, ident, data, datetime) "
        "VALUES (%s, %s, 'release', %s, %s, %s)",
        [(p, rec.position, version[:64], json.dumps({"version": version}), date) for p in project_ids],
    )
