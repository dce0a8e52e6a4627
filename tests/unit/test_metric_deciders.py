"""Metric blocking deciders: given events, when a command, then events (sentry-behaviour 1.5-1.9)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from commands import Conflict, Decision, InvalidCommand, NotFound, decide
from commands.metrics import (
    CORRUPTED,
    BlockMetric,
    BlockMetricTags,
    UnblockMetric,
    UnblockMetricTags,
    is_mri,
    load_blocking_state,
)
from commands.projects import ProjectState
from events import Event
from events.metrics import (
    BLOCKED_METRICS_OPTION,
    BlockedMetricsReset,
    MetricBlocked,
    MetricTagsBlocked,
    MetricTagsUnblocked,
    MetricUnblocked,
)
from events.projects import ProjectCreated, ProjectOptionSet

NOW = datetime(2026, 1, 1, tzinfo=UTC)
PID, OID = 101, 7
MRI_1 = "c:custom/page_click@none"
MRI_2 = "g:custom/page_load@millisecond"
CREATED = ProjectCreated(PID, OID, "web", "Web", None)


def given(*events: Event) -> ProjectState:
    return ProjectState.fold([CREATED, *events])


def when(state: ProjectState, command: object) -> Decision:
    return decide(command, NOW, {"project": state})  # type: ignore[arg-type]


def then_events(decision: Decision) -> list[Event]:
    return [c.event for c in decision.changes]


def stored(state: ProjectState) -> list[dict[str, object]]:
    return json.loads(state.option(BLOCKED_METRICS_OPTION) or "[]")


def run(events: list[Event], command: object) -> tuple[ProjectState, Decision]:
    state = given(*events)
    decision = when(state, command)
    events.extend(then_events(decision))
    return given(*events), decision


def test_the_state_table_of_test_metrics_blocking() -> None:
    """Rows 1-7 of sentry-behaviour 1.9, applied in order to one project."""
    log: list[Event] = []
    state, _ = run(log, BlockMetric(PID, MRI_1))
    assert stored(state) == [{"metric_mri": MRI_1, "is_blocked": True, "blocked_tags": []}]

    state, _ = run(log, BlockMetricTags(PID, MRI_1, ("release", "transaction", "release")))
    assert stored(state) == [
        {"metric_mri": MRI_1, "is_blocked": True, "blocked_tags": ["release", "transaction"]}
    ]

    state, _ = run(log, UnblockMetricTags(PID, MRI_1, ("transaction",)))
    assert stored(state) == [{"metric_mri": MRI_1, "is_blocked": True, "blocked_tags": ["release"]}]

    state, _ = run(log, BlockMetricTags(PID, MRI_2, ("environment",)))
    assert stored(state)[1] == {
        "metric_mri": MRI_2,
        "is_blocked": False,
        "blocked_tags": ["environment"],
    }
    assert len(stored(state)) == 2

    state, _ = run(log, UnblockMetricTags(PID, MRI_2, ("environment",)))
    assert [e["metric_mri"] for e in stored(state)] == [MRI_1]

    state, _ = run(log, UnblockMetric(PID, MRI_1))
    assert stored(state) == [{"metric_mri": MRI_1, "is_blocked": False, "blocked_tags": ["release"]}]

    state, _ = run(log, UnblockMetricTags(PID, MRI_1, ("release",)))
    assert stored(state) == []
    assert state.option(BLOCKED_METRICS_OPTION) == "[]"  # Sentry saves the empty list


def test_block_metric_emits_the_operation_and_its_result() -> None:
    decision = when(given(), BlockMetric(PID, "s:custom/user@none"))
    [event] = then_events(decision)
    assert event == MetricBlocked(
        PID,
        OID,
        "web",
        "s:custom/user@none",
        True,
        (),
    )
    assert decision.result == {
        "metricMri": "s:custom/user@none",
        "isBlocked": True,
        "blockedTags": [],
    }


def test_the_endpoint_table_sequence() -> None:
    """The endpoint rows of sentry-behaviour 1.9: responses and stored entry counts."""
    mri = "s:custom/user@none"
    log: list[Event] = []
    state, d = run(log, BlockMetric(PID, mri))
    assert d.result == {"metricMri": mri, "isBlocked": True, "blockedTags": []} and len(stored(state)) == 1
    state, d = run(log, UnblockMetric(PID, mri))
    assert d.result == {"metricMri": mri, "isBlocked": False, "blockedTags": []} and stored(state) == []
    state, d = run(log, BlockMetricTags(PID, mri, ("release", "transaction")))
    assert d.result == {
        "metricMri": mri,
        "isBlocked": False,
        "blockedTags": ["release", "transaction"],
    }
    state, d = run(log, UnblockMetricTags(PID, mri, ("transaction",)))
    assert d.result["blockedTags"] == ["release"]
    state, d = run(log, UnblockMetricTags(PID, mri, ("release",)))
    assert d.result["blockedTags"] == [] and stored(state) == []
    assert [type(e) for e in log] == [
        MetricBlocked,
        MetricUnblocked,
        MetricTagsBlocked,
        MetricTagsUnblocked,
        MetricTagsUnblocked,
    ]


def test_glob_characters_are_stripped_from_tags() -> None:
    decision = when(given(), BlockMetricTags(PID, "s:custom/user@none", ("release", "/*_project")))
    assert decision.result["blockedTags"] == ["/_project", "release"]
    [event] = then_events(decision)
    assert isinstance(event, MetricTagsBlocked) and event.tags == ("/_project", "release")


def test_unblocking_what_is_not_blocked_is_still_recorded() -> None:
    """Sentry audits every operation, even one that changes nothing."""
    decision = when(given(), UnblockMetric(PID, MRI_1))
    [event] = then_events(decision)
    assert isinstance(event, MetricUnblocked) and not event.is_blocked and event.blocked_tags == ()
    assert given(event).option(BLOCKED_METRICS_OPTION) == "[]"


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (BlockMetric(PID, "foo"), "You must supply a valid metric mri"),
        (BlockMetric(PID, ""), "You must supply a valid metric mri"),
        (BlockMetricTags(PID, MRI_1, ()), "You must supply at least one tag to block"),
        (UnblockMetricTags(PID, MRI_1, ()), "You must supply at least one tag to block"),
        # tags of mixed types would reach the option, where every view sorts them
        (BlockMetricTags(PID, MRI_1, (1, "a")), "Every tag must be a string"),  # type: ignore[arg-type]
    ],
)
def test_invalid_commands_are_rejected_with_sentrys_messages(command: object, message: str) -> None:
    with pytest.raises(InvalidCommand) as raised:
        when(given(), command)
    assert raised.value.detail == message


def test_a_missing_project_is_not_found() -> None:
    with pytest.raises(NotFound):
        decide(BlockMetric(PID, MRI_1), NOW, {"project": ProjectState()})


@pytest.mark.parametrize("malformed", ["}{", "{}", "[1]", '[{"metric_mri": "x"}]', 5])
def test_a_malformed_option_is_deleted_and_the_write_fails(malformed: object) -> None:
    state = given(ProjectOptionSet(PID, OID, BLOCKED_METRICS_OPTION, malformed))
    decision = when(state, BlockMetric(PID, MRI_1))
    [event] = then_events(decision)
    assert isinstance(event, BlockedMetricsReset)
    assert isinstance(decision.error, Conflict) and decision.error.detail == CORRUPTED
    assert (
        BLOCKED_METRICS_OPTION
        not in given(ProjectOptionSet(PID, OID, BLOCKED_METRICS_OPTION, malformed), event).options
    )


def test_after_the_repair_a_retry_starts_from_an_empty_state() -> None:
    log: list[Event] = [ProjectOptionSet(PID, OID, BLOCKED_METRICS_OPTION, "}{")]
    run(log, BlockMetric(PID, MRI_1))
    state, decision = run(log, BlockMetric(PID, MRI_1))
    assert decision.error is None and stored(state) == [
        {"metric_mri": MRI_1, "is_blocked": True, "blocked_tags": []}
    ]


def test_load_skips_entries_without_mri_and_the_last_duplicate_wins() -> None:
    raw = json.dumps(
        [
            {"is_blocked": True},
            {"metric_mri": MRI_1, "is_blocked": True, "blocked_tags": ["a"]},
            {"metric_mri": MRI_1, "is_blocked": False, "blocked_tags": None},
        ]
    )
    state = load_blocking_state(raw, PID)
    assert (
        list(state) == [MRI_1]
        and state[MRI_1].is_blocked is False
        and state[MRI_1].blocked_tags == frozenset()
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("c:custom/foo@none", True),
        ("s:custom/user@none", True),
        ("dist:my_namespace/organizations/v1/my endpoint@{none}", True),
        ("d:transactions/measurements.disk_io@byte/second", True),
        ("d@transactions/measurements.stall_longest_time", False),
        ("d:transactions/breakdowns.span_ops.ops.http", False),
        ("d/transactions@measurements.stall_longest_time:millisecond", False),
        ("d/transactions", False),
        ("transactions", False),
        (":transactions/measurements.x@none", False),
        (":/@", False),
        (None, False),
    ],
)
def test_mri_table(value: object, expected: bool) -> None:
    assert is_mri(value) is expected
