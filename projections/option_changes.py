"""Which events change a project option, and to what: one reading shared by every view that
keeps project options (the options view, Relay's project configs)."""

from __future__ import annotations

from typing import Any

from events import Event
from events.metrics import BLOCKED_METRICS_OPTION, BlockedMetricsReset, MetricBlockingChanged
from events.projects import ProjectOptionRemoved, ProjectOptionSet

OPTION_EVENTS: tuple[type[Event], ...] = (
    ProjectOptionSet,
    ProjectOptionRemoved,
    MetricBlockingChanged,
    BlockedMetricsReset,
)


def option_change(event: Event) -> tuple[int, str, Any]:
    """``(project_id, key, value)``; a value of None means the option was removed."""
    if isinstance(event, ProjectOptionSet):
        return event.project_id, event.key, event.value
    if isinstance(event, ProjectOptionRemoved):
        return event.project_id, event.key, None
    if isinstance(event, MetricBlockingChanged):
        return event.project_id, BLOCKED_METRICS_OPTION, event.option_value
    if isinstance(event, BlockedMetricsReset):
        return event.project_id, BLOCKED_METRICS_OPTION, None
    raise TypeError(f"{type(event).__name__} changes no project option")
