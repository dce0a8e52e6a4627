"""Upload, assembly and billing deciders and rules: given events, when a command, then events;
and the uploads view fed events directly."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from commands import NotFound, decide
from commands.billing import (
    HAS_PROFILE_TAG,
    PROFILE,
    SPAN,
    SPANS_USAGE,
    TRANSACTION,
    TRANSACTIONS_USAGE,
    CustomMetricsFlag,
    RecordCustomMetric,
    billing_outcomes,
    custom_metric_mri,
)
from commands.uploads import (
    BlobState,
    CreateDebugFile,
    DebugFile,
    RecordBlobs,
    StoredBlob,
    _Existence,
)
from events import Event
from events.billing import FirstCustomMetricReceived
from events.projects import ProjectCreated
from events.uploads import BlobOwned, BlobStored, DebugFileCreated, blob_stream
from infra.db import SqliteDatabase
from projections import Uploads
from projections.uploads import find_debug_file, find_missing_chunks, owned_chunks
from tests.unit.test_projections import Feeder

NOW = datetime(2026, 1, 1, tzinfo=UTC)
A, B = "a" * 40, "b" * 40


def changes(decision: Any) -> list[Event]:
    return [c.event for c in decision.changes]


def test_a_new_blob_is_stored_and_owned() -> None:
    cmd = RecordBlobs(7, (StoredBlob(A, 10, "aa/aaaa/x"),))
    decision = decide(cmd, NOW, {f"blob_{A}": BlobState()})
    assert changes(decision) == [BlobStored(A, 10, "aa/aaaa/x"), BlobOwned(A, 7)]
    assert [c.stream for c in decision.changes] == [blob_stream(A)] * 2


def test_a_stored_blob_gains_an_owner_once() -> None:
    stored = BlobState.fold([BlobStored(A, 10, "k"), BlobOwned(A, 7)])
    cmd = RecordBlobs(8, (StoredBlob(A, 10, "k"), StoredBlob(B, 3, "j")))
    assert changes(decide(cmd, NOW, {f"blob_{A}": stored, f"blob_{B}": BlobState()})) == [
        BlobOwned(A, 8),
        BlobStored(B, 3, "j"),
        BlobOwned(B, 8),
    ]
    again = RecordBlobs(7, (StoredBlob(A, 10, "k"),))
    assert changes(decide(again, NOW, {f"blob_{A}": stored})) == []


DIF = DebugFile("ca003ceb-b01e-7021-aa8f-c47f98fbf0e8", "eb3c", "x86_64", "lib", "elf", ("debug",))


def test_a_debug_file_is_created_once_for_an_existing_project() -> None:
    cmd = CreateDebugFile(5, A, "hello", 100, "k", DIF)
    project = _Existence.fold([ProjectCreated(5, 7, "native", "Native", None)])
    created = changes(decide(cmd, NOW, {"project": project, "debug_file": _Existence()}))
    assert created == [
        DebugFileCreated(5, 7, A, "hello", 100, DIF.debug_id, "eb3c", "x86_64", "lib", "elf", ("debug",), "k")
    ]
    again = _Existence.fold(created)
    assert changes(decide(cmd, NOW, {"project": project, "debug_file": again})) == []
    with pytest.raises(NotFound):
        decide(cmd, NOW, {"project": _Existence(), "debug_file": _Existence()})


def test_the_first_custom_metric_flags_the_project_once() -> None:
    project = CustomMetricsFlag.fold([ProjectCreated(5, 7, "web", "Web", None)])
    cmd = RecordCustomMetric(5, 7, "c:custom/click@none")
    flagged = changes(decide(cmd, NOW, {"project": project}))
    assert flagged == [FirstCustomMetricReceived(5, 7, "c:custom/click@none")]
    assert (
        changes(
            decide(
                cmd,
                NOW,
                {"project": CustomMetricsFlag.fold([ProjectCreated(5, 7, "web", "Web", None), *flagged])},
            )
        )
        == []
    )
    with pytest.raises(NotFound):
        decide(cmd, NOW, {"project": CustomMetricsFlag()})
    with pytest.raises(NotFound):  # another organization's project id
        decide(RecordCustomMetric(5, 8, "c:custom/click@none"), NOW, {"project": project})


def metric(
    metric_id: int, kind: str, value: Any, tags: dict[str, str] | None = None, mri: str = ""
) -> dict[str, Any]:
    return {
        "metric_id": metric_id,
        "type": kind,
        "value": value,
        "tags": tags or {},
        "mapping_meta": {"c": {str(metric_id): mri}} if mri else {},
    }


@pytest.mark.parametrize(
    ("message", "outcomes"),
    [
        (metric(TRANSACTIONS_USAGE, "c", 3.0), [(TRANSACTION, 3)]),
        (
            metric(TRANSACTIONS_USAGE, "c", 1.9, {str(HAS_PROFILE_TAG): "true"}),
            [(TRANSACTION, 1), (PROFILE, 1)],
        ),
        (metric(TRANSACTIONS_USAGE, "c", 2.0, {str(HAS_PROFILE_TAG): "false"}), [(TRANSACTION, 2)]),
        (metric(TRANSACTIONS_USAGE, "c", 0.0), []),
        (metric(TRANSACTIONS_USAGE, "c", 0.5), []),
        (metric(TRANSACTIONS_USAGE, "c", -4.0), []),
        (metric(TRANSACTIONS_USAGE, "d", [1.0, 2.0]), []),
        (metric(TRANSACTIONS_USAGE, "c", [1.0]), []),  # not a counter value: skipped
        (metric(SPANS_USAGE, "c", 7.0), [(SPAN, 7)]),
        (metric(SPANS_USAGE, "c", 7.0, {str(HAS_PROFILE_TAG): "true"}), [(SPAN, 7)]),
        (metric((1 << 63) + 101, "d", [1.0, 2.0, 3.0]), []),  # the duration distribution no longer counts
        (metric(123, "c", 5.0, mri="c:custom/click@none"), []),
    ],
)
def test_billing_rules(message: dict[str, Any], outcomes: list[tuple[int, int]]) -> None:
    assert billing_outcomes(message) == outcomes


def test_custom_metric_resolution() -> None:
    assert custom_metric_mri(metric(9, "c", 1, mri="c:custom/user_click@none")) == "c:custom/user_click@none"
    assert custom_metric_mri(metric(9, "d", [1], mri="d:custom/page_load@ms")) == "d:custom/page_load@ms"
    assert custom_metric_mri(metric(9, "c", 1, mri="c:transactions/usage@none")) is None
    assert custom_metric_mri(metric(9, "c", 1, mri="not an mri")) is None
    assert custom_metric_mri(metric(9, "c", 1)) is None


def test_uploads_view(db: SqliteDatabase) -> None:
    f = Feeder(db, Uploads())
    f.feed(
        BlobStored(A, 10, "ka"), BlobOwned(A, 7), BlobStored(B, 20, "kb"), BlobOwned(B, 8), BlobOwned(A, 7)
    )
    f.feed(DebugFileCreated(5, 7, A, "hello", 10, "d-id", None, "x86_64", "exe", "elf", ("symtab",), "ka"))
    for view in f.read():
        assert find_missing_chunks(view, 7, [B, A, B]) == [B]  # B is owned only by organization 8
        assert find_missing_chunks(view, 8, [A, B]) == [A]
        assert owned_chunks(view, 7, [A, B]) == {A: 10}
        dif = find_debug_file(view, 5, A)
        assert dif is not None and dif["features"] == ["symtab"] and dif["object_kind"] == "exe"
        assert find_debug_file(view, 6, A) is None
