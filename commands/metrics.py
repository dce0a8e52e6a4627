"""Metric blocking, as Sentry's ``metrics_blocking`` module does it (2024).

The state lives in the project option ``sentry:blocked_metrics``: a JSON list of
``{"metric_mri", "is_blocked", "blocked_tags"}``. Every operation loads it (repairing a
malformed value by deleting it, then failing) and applies the merge rule; the event records
the metric's entry after it, and the option is the fold of those (events/metrics.py).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from commands.base import Change, Command, Conflict, Decision, InvalidCommand, handles
from commands.projects import ProjectState, existing, project_reads
from events import streams
from events.metrics import (
    BLOCKED_METRICS_OPTION,
    BlockedMetricsReset,
    Blocking,
    MalformedOption,
    MetricBlocked,
    MetricBlocking,
    MetricBlockingChanged,
    MetricTagsBlocked,
    MetricTagsUnblocked,
    MetricUnblocked,
    parse_option,
    render_option,
    with_entry,
)

MRI_PATTERN = re.compile(r"^(?P<entity>[^:]+):(?P<namespace>[^/]+)/(?P<name>[^@]+)@(?P<unit>.+)$")
CORRUPTED = "The blocked metrics settings are corrupted, try again"
INVALID_MRI = "You must supply a valid metric mri"
NO_TAGS = "You must supply at least one tag to block"
TAG_NOT_STRING = "Every tag must be a string"


def is_mri(value: object) -> bool:
    return isinstance(value, str) and MRI_PATTERN.match(value) is not None


class MalformedBlockedMetrics(Exception):
    pass


def load_blocking_state(raw: Any, project_id: int) -> dict[str, MetricBlocking]:
    """``MetricsBlockingState.load_from_project`` (events/metrics.py has the format)."""
    try:
        return parse_option(raw)
    except MalformedOption as exc:
        raise MalformedBlockedMetrics(f"{exc} for project {project_id}") from None


def dump_blocking_state(state: Blocking) -> str:
    return render_option(state)


def apply_operation(
    state: Blocking,
    mri: str,
    block_metric: bool | None,
    block_tags: frozenset[str] = frozenset(),
    unblock_tags: frozenset[str] = frozenset(),
) -> tuple[dict[str, MetricBlocking], MetricBlocking]:
    """``apply_metric_operation``: the merge rule; empty entries leave the state."""
    old = state.get(mri)
    if old is not None:
        is_blocked = block_metric if block_metric is not None else old.is_blocked
        patched = MetricBlocking(mri, is_blocked, (old.blocked_tags | block_tags) - unblock_tags)
    else:
        patched = MetricBlocking(mri, block_metric is True, block_tags)
    return with_entry(state, patched), patched


@dataclass(frozen=True)
class BlockMetric(Command):
    project_id: int
    metric_mri: str


@dataclass(frozen=True)
class UnblockMetric(Command):
    project_id: int
    metric_mri: str


@dataclass(frozen=True)
class BlockMetricTags(Command):
    project_id: int
    metric_mri: str
    tags: tuple[str, ...]


@dataclass(frozen=True)
class UnblockMetricTags(Command):
    project_id: int
    metric_mri: str
    tags: tuple[str, ...]


MetricCommand = BlockMetric | UnblockMetric | BlockMetricTags | UnblockMetricTags


def sanitize_tags(tags: tuple[str, ...]) -> frozenset[str]:
    """``_get_sanitized_tags``: glob characters are stripped from every tag."""
    return frozenset(tag.replace("*", "") for tag in tags)


def _decide_operation(cmd: MetricCommand, project: ProjectState) -> Decision:
    existing(project)
    assert project.project_id is not None and project.organization_id is not None
    if not is_mri(cmd.metric_mri):
        raise InvalidCommand(INVALID_MRI)
    if isinstance(cmd, BlockMetricTags | UnblockMetricTags) and not cmd.tags:
        raise InvalidCommand(NO_TAGS)
    if isinstance(cmd, BlockMetricTags | UnblockMetricTags) and not all(isinstance(t, str) for t in cmd.tags):
        raise InvalidCommand(TAG_NOT_STRING)  # the option's tags are sorted: one type only
    tags = sanitize_tags(cmd.tags) if isinstance(cmd, BlockMetricTags | UnblockMetricTags) else frozenset()
    stream = streams.project(project.project_id)
    state = project.blocked_metrics
    if state is None:  # not folded from metric events yet: the option as stored
        raw = project.options.get(BLOCKED_METRICS_OPTION)
        try:
            state = load_blocking_state(raw, project.project_id)
        except MalformedBlockedMetrics:
            reset = BlockedMetricsReset(project.project_id, project.organization_id, json.dumps(raw))
            return Decision(changes=(Change(stream, reset),), error=Conflict(CORRUPTED))
    block = {BlockMetric: True, UnblockMetric: False}.get(type(cmd))
    block_tags = tags if isinstance(cmd, BlockMetricTags) else frozenset()
    unblock_tags = tags if isinstance(cmd, UnblockMetricTags) else frozenset()
    _, patched = apply_operation(state, cmd.metric_mri, block, block_tags, unblock_tags)
    common: dict[str, Any] = dict(
        project_id=project.project_id,
        organization_id=project.organization_id,
        project_slug=project.slug,
        metric_mri=cmd.metric_mri,
        is_blocked=patched.is_blocked,
        blocked_tags=tuple(sorted(patched.blocked_tags)),
    )
    evt: MetricBlockingChanged
    if isinstance(cmd, BlockMetric):
        evt = MetricBlocked(**common)
    elif isinstance(cmd, UnblockMetric):
        evt = MetricUnblocked(**common)
    elif isinstance(cmd, BlockMetricTags):
        evt = MetricTagsBlocked(**common, tags=tuple(sorted(tags)))
    else:
        evt = MetricTagsUnblocked(**common, tags=tuple(sorted(tags)))
    return Decision(changes=(Change(stream, evt),), result=patched.to_response())


for _command_type in (BlockMetric, UnblockMetric, BlockMetricTags, UnblockMetricTags):

    def _decide(cmd: MetricCommand, now: datetime, project: ProjectState) -> Decision:
        return _decide_operation(cmd, project)

    handles(_command_type, reads=project_reads)(_decide)
