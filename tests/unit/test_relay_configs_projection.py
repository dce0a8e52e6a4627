"""The relay_configs projection folds a batch set-wise: each changed document rendered once at
the end of the batch, the same bytes whatever the batches were; removed keys leave the view.
And the stored layout a fetch splices without parsing serves the same JSON as the parsing path."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID, uuid5

import pytest

from events import Event
from events.metrics import MetricBlocked
from events.organizations import OrganizationEdited
from events.project_keys import ProjectKeyCreated, ProjectKeyRemoved, ProjectKeyUpdated
from events.projects import ProjectCreated, ProjectOptionSet, ProjectRemoved, ProjectUpdated
from infra.db import SqliteDatabase
from projections import RelayConfigs
from projections.relay_document import DYNAMIC_SAMPLING_FEATURE, minimal, with_features
from projections.relay_encoding import (
    compact,
    encode,
    fetch_head,
    rev_of,
    spliced,
    spliced_members,
    spliced_parts,
)
from tests import folding

ORG, P1, P2 = 9, 1, 2
KEYS = {"a": "a" * 32, "b": "b" * 32, "c": "c" * 32}


def key(project: int, key_id: int, name: str, cls: type = ProjectKeyCreated, status: int = 0) -> Event:
    return cls(project, ORG, key_id, KEYS[name], "s" * 32, f"key {name}", status, None, None)  # type: ignore[no-any-return]


def org_edit(options: dict[str, Any]) -> OrganizationEdited:
    return OrganizationEdited(ORG, "acme", "Acme", "acme", options, (), {}, "member", {})


EVENTS: list[Event] = [
    ProjectCreated(P1, ORG, "web", "Web", None),
    key(P1, 11, "a"),
    key(P1, 12, "b"),
    ProjectCreated(P2, ORG, "api", "Api", None),
    key(P2, 21, "c"),
    ProjectOptionSet(P1, ORG, "sentry:origins", ["a.com"]),
    MetricBlocked(P1, ORG, "web", "c:custom/a@none", True, ()),
    org_edit({"sentry:trusted-relays": [{"public_key": "r" * 43, "name": "edge"}]}),
    key(P1, 12, "b", ProjectKeyUpdated, status=1),  # deactivated: disabled
    ProjectUpdated(P2, ORG, "api-2", "Api", None, "api", {}),
    MetricBlocked(P1, ORG, "web", "c:custom/b@none", True, ()),
    key(P2, 21, "c", ProjectKeyRemoved),
]


def fed(db: SqliteDatabase, prefix: str) -> folding.Folder:
    return folding.Folder(db, RelayConfigs(), prefix)


def test_one_batch_and_one_event_at_a_time_store_the_same_bytes(db: SqliteDatabase) -> None:
    whole, single, mixed = fed(db, "whole"), fed(db, "single"), fed(db, "mixed")
    whole.fold(EVENTS)
    for event in EVENTS:
        single.fold([event])
    for part in (EVENTS[:5], EVENTS[5:9], EVENTS[9:]):
        mixed.fold(part)
    assert whole.rows() == single.rows() == mixed.rows()
    documents = {row[0]: row for row in whole.rows()["documents"]}
    assert set(documents) == {KEYS["a"], KEYS["b"]}  # c was removed
    doc_a = json.loads(documents[KEYS["a"]][3])
    assert doc_a["config"]["allowedDomains"] == ["a.com"]
    assert doc_a["config"]["metrics"]["deniedNames"] == ["c:custom/a@none", "c:custom/b@none"]
    assert doc_a["config"]["trustedRelays"] == ["r" * 43]
    # Its rev and lastChange are those of the last event that changed it (the second block).
    assert documents[KEYS["a"]][6] == 11 and doc_a["rev"] == rev(KEYS["a"], 11)
    assert doc_a["lastChange"] == "2026-01-01T00:00:11.000000Z"
    assert json.loads(documents[KEYS["b"]][3]) == {"disabled": True}
    assert json.loads(documents[KEYS["a"]][4]) == minimal(doc_a)


def test_a_batch_renders_each_changed_document_once(db: SqliteDatabase) -> None:
    folder = fed(db, "once")
    folder.fold(EVENTS[:8])
    written = [public_key for public_key, docs in folder.effects if docs is not None]
    assert sorted(written) == sorted(KEYS.values())  # each once, though a had five changes


def test_a_key_change_renders_that_key_alone(db: SqliteDatabase) -> None:
    folder = fed(db, "alone")
    folder.fold(EVENTS[:5])
    before = {row[0]: row[5] for row in folder.rows()["documents"]}
    folder.effects.clear()
    folder.fold([key(P1, 12, "b", ProjectKeyUpdated)])
    after = {row[0]: row[5] for row in folder.rows()["documents"]}
    assert [public_key for public_key, _ in folder.effects] == [KEYS["b"]]
    assert after[KEYS["a"]] == before[KEYS["a"]] and after[KEYS["b"]] != before[KEYS["b"]]


def test_a_removed_key_leaves_the_view_and_its_cached_documents_go(db: SqliteDatabase) -> None:
    folder = fed(db, "removed")
    folder.fold(EVENTS[:5])
    folder.effects.clear()
    folder.fold([key(P2, 21, "c", ProjectKeyRemoved)])
    assert folder.effects == [(KEYS["c"], None)]
    rows = folder.rows()
    assert KEYS["c"] not in {r[0] for r in rows["keys"]} | {r[0] for r in rows["documents"]}
    folder.fold([ProjectRemoved(P1, ORG, "web", "Web", "web-x", (KEYS["a"], KEYS["b"]))])
    assert {json.loads(r[3])["disabled"] for r in folder.rows()["documents"]} == {True}


def rev(public_key: str, position: int) -> str:
    return uuid5(UUID("0e6c1c9e-55b4-4c55-9a6a-7e1a7c0f5d21"), f"{public_key}:{position}").hex


def served_by_parsing(stored: str, now: str, features: frozenset[str]) -> Any:
    doc = json.loads(stored)
    if doc.get("disabled"):
        return doc
    return with_features({**doc, "lastFetch": now}, features)


@pytest.mark.parametrize("features", [frozenset(), frozenset({DYNAMIC_SAMPLING_FEATURE})])
def test_a_spliced_document_is_the_document_the_parsing_path_serves(
    db: SqliteDatabase, features: frozenset[str]
) -> None:
    folder = fed(db, "splice")
    folder.fold(EVENTS)
    now = "2026-02-02T10:00:00.123456Z"
    sampling = compact(with_features({"config": {}}, features)["config"].get("sampling")).encode()
    for public_key, _, _, full, small, stored_rev, _ in folder.rows()["documents"]:
        for stored in (full, small):
            served = spliced(stored.encode(), now.encode(), sampling if features else None)
            assert served is not None
            assert json.loads(served) == served_by_parsing(stored, now, features), public_key
            assert rev_of(stored.encode()) == (None if json.loads(stored).get("disabled") else stored_rev)
    assert spliced(b'{"config": {}}', b"x", None) is None  # not the stored layout: parse instead
    assert encode({"disabled": True}) == '{"disabled":true}'


def test_documents_spliced_at_once_are_those_spliced_one_by_one(db: SqliteDatabase) -> None:
    folder = fed(db, "splice")
    folder.fold(EVENTS)
    docs = [d.encode() for row in folder.rows()["documents"] for d in (row[3], row[4])]
    laid_out = [d for d in docs if not json.loads(d).get("disabled")]
    assert laid_out
    head = fetch_head(b"2026-02-02T10:00:00.123456Z")
    names = [b',"k%d":' % i for i in range(len(laid_out))]
    at_once = spliced_members(names, list(laid_out), head)
    one_by_one = [
        p
        for name, d in zip(names, laid_out, strict=True)
        for p in (name, *(spliced_parts(d, head, None) or ()))
    ]
    assert at_once is not None and b"".join(at_once) == b"".join(one_by_one)
    # Any document missing or not in the stored layout (a disabled one): one by one instead.
    assert spliced_members(names[:2], [laid_out[0], None], head) is None
    assert spliced_members(names[:2], [laid_out[0], b'{"disabled":true}'], head) is None
    assert spliced_members(names[:2], [laid_out[0], b'{"config":{},"rev":"x"}'], head) is None
    # The layout is checked on each document's own first bytes, not on what follows a short one.
    short, other = laid_out[0][:20], laid_out[0][20:]
    assert spliced_members(names[:3], [short, other, laid_out[0]], head) is None
    bad_config = laid_out[0].replace(b'","config":{', b'","confiG":{', 1)
    assert spliced_members(names[:2], [laid_out[0], bad_config], head) is None
