"""Metric blocking. Each event records the operation asked for and what it resulted in:
the metric's blocking entry after the operation and the new ``sentry:blocked_metrics``
option value, serialised exactly as Sentry stores it."""

from __future__ import annotations

from dataclasses import dataclass

from events.base import event
from events.projects import ProjectEvent

BLOCKED_METRICS_OPTION = "sentry:blocked_metrics"


@dataclass(frozen=True)
class MetricBlockingChanged(ProjectEvent):
    project_slug: str
    metric_mri: str
    is_blocked: bool
    blocked_tags: tuple[str, ...]
    option_value: str


@event
@dataclass(frozen=True)
class MetricBlocked(MetricBlockingChanged):
    TOPIC = "metrics.MetricBlocked.v1"


@event
@dataclass(frozen=True)
class MetricUnblocked(MetricBlockingChanged):
    TOPIC = "metrics.MetricUnblocked.v1"


@dataclass(frozen=True)
class MetricTagsChanged(MetricBlockingChanged):
    tags: tuple[str, ...]


@event
@dataclass(frozen=True)
class MetricTagsBlocked(MetricTagsChanged):
    TOPIC = "metrics.MetricTagsBlocked.v1"


@event
@dataclass(frozen=True)
class MetricTagsUnblocked(MetricTagsChanged):
    TOPIC = "metrics.MetricTagsUnblocked.v1"


@event
@dataclass(frozen=True)
class BlockedMetricsReset(ProjectEvent):
    """The stored option was malformed; as Sentry does, it is deleted (the bad value is kept here)."""

    TOPIC = "metrics.BlockedMetricsReset.v1"
    malformed_value: str
