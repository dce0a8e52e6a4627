"""The releases and groups views, fed events: commit lists replaced whole, commits upserted as
Sentry updates them, fetch jobs emitted, issues resolved and out of the inbox."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from events import Recorded
from events.groups import GroupCreated, GroupResolvedInCommit, GroupResolvedInRelease
from events.releases import (
    ReleaseCommitsRecorded,
    ReleaseCommitsSet,
    ReleaseCreated,
    ReleaseDeleted,
    ReleaseHeadCommitsSet,
    ReleaseProjectsAdded,
    RepositoryAdded,
    commit_columns,
)
from infra.db import SqliteDatabase
from projections import groups, release_queries
from projections.base import View
from projections.groups import Groups
from projections.releases import FETCH_COMMITS, Releases
from tests.unit.test_projections import Feeder

ORG, RID = 7, 100


def recorded(*commits: dict[str, Any]) -> ReleaseCommitsRecorded:
    columns = {k: tuple(v) for k, v in commit_columns(commits).items()}
    return ReleaseCommitsRecorded(RID, ORG, "1.0", **columns)


def c(sha: str, **data: object) -> dict[str, object]:
    return {"id": sha, "repository_id": 5, "author_email": None, "author_name": None, "patch_set": [], **data}


def test_commit_lists_replace_and_commits_keep_what_was_not_sent(db: SqliteDatabase) -> None:
    f = Feeder(db, Releases())
    f.feed(
        RepositoryAdded(5, ORG, "acme/app", None, None, {}),
        ReleaseCreated(RID, ORG, "1.0", "2026-01-01T00:00:00+00:00", None, None, None, None, "open", ""),
        ReleaseProjectsAdded(RID, ORG, "1.0", (1,), (), None),
    )
    f.feed(
        recorded(
            c(
                "a",
                message="first words",
                timestamp="2024-01-01T00:00:00+00:00",
                author_email="a@x.io",
                author_name="A",
            ),
            c("b", message="b", patch_set=[["f.py", "M"]]),
        ),
        ReleaseCommitsSet(RID, ORG, "1.0", 2, {"id": "a"}, ({"name": "A", "email": "a@x.io"},), {"5": "a"}),
    )
    f.feed(recorded(c("a", author_email="a@x.io", author_name="Renamed")))
    for view in f.read():
        commits = release_queries.release_commits(view, ORG, RID, 0, 10)
        assert [(x["id"], x["message"], x["dateCreated"]) for x in commits] == [
            ("a", "first words", "2024-01-01T00:00:00+00:00")
        ]
        assert commits[0]["author"] == {"name": "Renamed", "email": "a@x.io"}
        assert release_queries.head_commit(view, RID, 5) == "a"
        release = release_queries.find_release(view, ORG, "1.0")
        assert release is not None and release["commit_count"] == 2 and release["project_ids"] == (1,)


def test_a_fetching_set_refs_emits_the_job_and_deletion_clears_the_release(db: SqliteDatabase) -> None:
    f = Feeder(db, Releases())
    f.feed(ReleaseCreated(RID, ORG, "1.0", "2026-01-01T00:00:00+00:00", None, None, None, None, "open", ""))
    refs = ({"repository": "acme/app", "commit": "b", "previousCommit": None},)
    with db.transaction() as tx:
        view = View(tx, f.tables)
        event = ReleaseHeadCommitsSet(RID, ORG, "1.0", {"5": "b"}, refs, True, 3)
        f.projection.apply(view, Recorded(uuid4(), 2, event, datetime.now(UTC), position=9))
        assert view.effects == [
            {"task": FETCH_COMMITS, "release_id": RID, "organization_id": ORG, "version": "1.0", "user_id": 3,
             "refs": list(refs), "position": 9, "previous_release_id": None}
        ]  # fmt: skip
    f.feed(ReleaseDeleted(RID, ORG, "1.0"))
    for view in f.read():
        assert release_queries.find_release(view, ORG, "1.0") is None


def test_resolution_leaves_the_inbox_with_activity_and_history(db: SqliteDatabase) -> None:
    f = Feeder(db, Groups())
    f.feed(GroupCreated(500, 1, ORG, 1, "Boom", None, None))
    for view in f.read():
        group = groups.find_group(view, ORG, 500)
        assert group and group["inbox"] and group["inbox"]["reason"] == 0 and group["status"] == "unresolved"
    p1 = f.feed(GroupResolvedInCommit(500, 1, ORG, 5, "acme/app", "a"))
    p2 = f.feed(GroupResolvedInRelease(500, 1, ORG, RID, "1.0"))
    for view in f.read():
        group = groups.find_group(view, ORG, 500)
        assert (
            group
            and group["inbox"] is None
            and group["status"] == "resolved"
            and group["resolution"] == "1.0"
        )
        assert [(a["type"], a["data"]) for a in groups.activity(view, 500)] == [
            ("set_resolved_in_commit", {"commit": {"id": "a", "repository": "acme/app"}})
        ]
        assert [(h["id"], h["statusId"]) for h in groups.history(view, 500)] == [(str(p1), 12), (str(p2), 11)]
        assert groups.group_by_short_id(view, 1, 1) == 500
