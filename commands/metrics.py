"""Metric blocking, as Sentry's ``metrics_blocking`` module does it (2024).

The state lives in the project option ``sentry:blocked_metrics``: a JSON list of
``{"metric_mri", "is_blocked", "blocked_tags"}``. Every operation loads it (repairing a
malformed value by deleting it, then failing), applies the merge rule and stores it back.
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
    MetricBlocked,
    MetricBlockingChanged,
    MetricTagsBlocked,
    MetricTagsUnblocked,
    MetricUnblocked,
)

MRI_PATTERN = re.compile(r"^(?P<entity>[^:]+):(?P<namespace>[^/]+)/(?P<name>[^@]+)@(?P<unit>.+)$")
CORRUPTED = "The blocked metrics settings are corrupted, try again"
INVALID_MRI = "You must supply a valid metric mri"
NO_TAGS = "You must supply at least one tag to block"
TAG_NOT_STRING = "Every tag must be a string"


def is_mri(value: object) -> bool:
    return isinstance(value, str) and MRI_PATTERN.match(value) is not None


@dataclass(frozen=True)
class MetricBlocking:
    metric_mri: str
    is_blocked: bool
    blocked_tags: frozenset[str]

    def is_empty(self) -> bool:
        return not self.is_blocked and not self.blocked_tags

    def to_response(self) -> dict[str, Any]:
        return {
            "metricMri": self.metric_mri,
            "isBlocked": self.is_blocked,
            "blockedTags": sorted(self.blocked_tags),
        }


class MalformedBlockedMetrics(Exception):
    pass


def load_blocking_state(raw: Any, project_id: int) -> dict[str, MetricBlocking]:
    """``MetricsBlockingState.load_from_project``: missing or empty means no blocking."""
    if raw is None or raw == "":
        return {}
    try:
        if not isinstance(raw, str):
            raise ValueError(raw)
        decoded = json.loads(raw)
    except ValueError:
        raise MalformedBlockedMetrics(
            f"Invalid metrics blocking state payload for project {project_id}"
        ) from None
    if not isinstance(decoded, list):
        raise MalformedBlockedMetrics(
            f"The metrics blocking state payload is not a list for project {project_id}"
        )
    state: dict[str, MetricBlocking] = {}
    for item in decoded:
        entry = _entry_from_dict(item, project_id)
        if entry is not None:
            state[entry.metric_mri] = entry  # a duplicate mri: the last one wins
    return state


def _entry_from_dict(item: Any, project_id: int) -> MetricBlocking | None:
    if not isinstance(item, dict):
        raise MalformedBlockedMetrics(f"Invalid metrics blocking state payload for project {project_id}")
    if "metric_mri" not in item:
        return None
    if "is_blocked" not in item:
        raise MalformedBlockedMetrics(f"Invalid metrics blocking state payload for project {project_id}")
    tags = item.get("blocked_tags") or []
    if not isinstance(tags, list):
        raise MalformedBlockedMetrics(f"Invalid metrics blocking state payload for project {project_id}")
    return MetricBlocking(str(item["metric_mri"]), bool(item["is_blocked"]), frozenset(map(str, tags)))


def dump_blocking_state(state: dict[str, MetricBlocking]) -> str:
    """``save_to_project``: ``json.dumps`` of the entries' ``__dict__`` (tags sorted here)."""
    return json.dumps(
        [
            {
                "metric_mri": b.metric_mri,
                "is_blocked": b.is_blocked,
                "blocked_tags": sorted(b.blocked_tags),
            }
            for b in state.values()
        ]
    )


def apply_operation(
    state: dict[str, MetricBlocking],
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
    new_state = dict(state)
    if patched.is_empty():
        new_state.pop(mri, None)
    else:
        new_state[mri] = patched
    return new_state, patched


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
    raw = project.options.get(BLOCKED_METRICS_OPTION)
    try:
        state = load_blocking_state(raw, project.project_id)
    except MalformedBlockedMetrics:
        reset = BlockedMetricsReset(project.project_id, project.organization_id, json.dumps(raw))
        return Decision(changes=(Change(stream, reset),), error=Conflict(CORRUPTED))
    block = {BlockMetric: True, UnblockMetric: False}.get(type(cmd))
    block_tags = tags if isinstance(cmd, BlockMetricTags) else frozenset()
    unblock_tags = tags if isinstance(cmd, UnblockMetricTags) else frozenset()
    new_state, patched = apply_operation(state, cmd.metric_mri, block, block_tags, unblock_tags)
    common: dict[str, Any] = dict(
        project_id=project.project_id,
        organization_id=project.organization_id,
        project_slug=project.slug,
        metric_mri=cmd.metric_mri,
        is_blocked=patched.is_blocked,
        blocked_tags=tuple(sorted(patched.blocked_tags)),
        option_value=dump_blocking_state(new_state),
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
