"""The project_keys projection folds a batch in memory and writes it set-wise: whatever the
batches, the view ends as folding one event at a time leaves it (created, changed, removed keys;
a project's removal taking its keys, and keys made after it in the same batch staying)."""

from __future__ import annotations

from typing import Any

import pytest

from events import Event
from events.project_keys import ProjectKeyCreated, ProjectKeyRemoved, ProjectKeyUpdated
from events.projects import ProjectRemoved
from infra.db import SqliteDatabase
from projections import View
from projections.project_keys import ProjectKeys, list_keys
from tests import folding

ORG, P1, P2 = 9, 1, 2


def key(cls: type, project: int, key_id: int, label: str = "", status: int = 0, **more: Any) -> Event:
    limits = {"rate_limit_count": None, "rate_limit_window": None, **more}
    public = f"{key_id:032d}"
    made: Event = cls(project, ORG, key_id, public, "s" * 32, label or f"key {key_id}", status, **limits)
    return made


EVENTS: list[Event] = [
    key(ProjectKeyCreated, P1, 11),
    key(ProjectKeyCreated, P1, 12, date_created="2025-06-01T00:00:00.000000Z"),
    key(ProjectKeyCreated, P2, 21),
    key(ProjectKeyUpdated, P1, 11, "renamed", loader_options=("hasDebug",)),
    key(ProjectKeyUpdated, P1, 12, "off", status=1, browser_sdk_version="7.x"),
    key(ProjectKeyCreated, P2, 22),
    key(ProjectKeyUpdated, P2, 21, "changed, then its project goes"),
    key(ProjectKeyRemoved, P1, 12),
    key(ProjectKeyCreated, P1, 13),
    key(ProjectKeyUpdated, P1, 11, "renamed again", rate_limit_count=10, rate_limit_window=60),
    ProjectRemoved(P2, ORG, "api", "Api", "api-x", (f"{21:032d}", f"{22:032d}")),
    key(ProjectKeyCreated, P2, 23),  # after the removal: stays, as it would one event at a time
    key(ProjectKeyUpdated, P2, 23, "kept"),
    key(ProjectKeyUpdated, P1, 13, "last"),
    key(ProjectKeyRemoved, P1, 11),
    key(ProjectKeyCreated, P1, 14),
]


def fed(db: SqliteDatabase, prefix: str) -> folding.Folder:
    return folding.Folder(db, ProjectKeys(), prefix)


def rows(folder: folding.Folder) -> list[tuple[Any, ...]]:
    return folder.rows()["keys"]


def test_one_event_at_a_time_leaves_what_the_events_say(db: SqliteDatabase) -> None:
    single = fed(db, "single")
    for event in EVENTS:
        single.fold([event])
    with db.transaction(write=False) as tx:
        view = View(tx, single.tables)
        p1, p2 = list_keys(view, P1), list_keys(view, P2)
    assert [(k.key_id, k.label) for k in p1] == [(14, "key 14"), (13, "last")]
    assert [(k.key_id, k.label) for k in p2] == [(23, "kept")]
    assert p1[1].date_created == "2026-01-01T00:00:09+00:00"  # the created event's time


@pytest.mark.parametrize("cut", range(1, len(EVENTS)))
def test_any_batches_leave_the_view_one_event_at_a_time_leaves(db: SqliteDatabase, cut: int) -> None:
    single, whole, split = fed(db, "single"), fed(db, "whole"), fed(db, f"split{cut}")
    for event in EVENTS:
        single.fold([event])
    whole.fold(EVENTS)
    split.fold(EVENTS[:cut])
    split.fold(EVENTS[cut:])
    assert rows(whole) == rows(single) == rows(split)


def test_a_key_changed_over_batches_keeps_its_creation_and_takes_each_change(db: SqliteDatabase) -> None:
    folder = fed(db, "kept")
    folder.fold(EVENTS[:2])
    folder.fold([key(ProjectKeyUpdated, P1, 12, "x", rate_limit_count=5, rate_limit_window=1,
                     loader_options=("hasPerformance", "hasReplay"))])  # fmt: skip
    [row] = [r for r in rows(folder) if r[0] == 12]
    assert row[5:] == ("x", 0, 5, 1, "2025-06-01T00:00:00.000000Z", None, "hasPerformance,hasReplay")
