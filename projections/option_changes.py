"""Which events change a project option, and to what: one reading shared by every view that
keeps project options (the options view, Relay's project configs). Most events carry the new
value; a metric blocking event carries the change, so its "value" is a function of the
option's value before it (``Update``), applied by the view to what it holds."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from events import Event
from events.metrics import (
    BLOCKED_METRICS_OPTION,
    BlockedMetricsReset,
    MetricBlocking,
    MetricBlockingChanged,
    entry_of,
    lenient,
    option_after,
    render_option,
    with_entry,
)
from events.projects import ProjectOptionRemoved, ProjectOptionSet

OPTION_EVENTS: tuple[type[Event], ...] = (
    ProjectOptionSet,
    ProjectOptionRemoved,
    MetricBlockingChanged,
    BlockedMetricsReset,
)


Update = Callable[[Any], Any]  # the option's value before -> its value after


def option_change(event: Event) -> tuple[int, str, Any]:
    """``(project_id, key, value)``; a value of None means the option was removed, and an
    ``Update`` (callable) gives the value from the one before (see ``new_value``)."""
    if isinstance(event, ProjectOptionSet):
        return event.project_id, event.key, event.value
    if isinstance(event, ProjectOptionRemoved):
        return event.project_id, event.key, None
    if isinstance(event, MetricBlockingChanged):
        return event.project_id, BLOCKED_METRICS_OPTION, partial(_metric_update, event)
    if isinstance(event, BlockedMetricsReset):
        return event.project_id, BLOCKED_METRICS_OPTION, None
    raise TypeError(f"{type(event).__name__} changes no project option")


def _metric_update(event: MetricBlockingChanged, previous: Any) -> str:
    return option_after(previous, event)


def new_value(value: Any, previous: Callable[[], Any]) -> Any:
    """What ``option_change`` gave, as the value to store; ``previous`` is read only for an update."""
    return value(previous()) if callable(value) else value


class Entries(dict[str, MetricBlocking]):
    """Metric blocking entries held unrendered: a view that stores only the last value of a
    batch renders the option once (``rendered``), not once per event."""


def new_value_unrendered(value: Any, previous: Callable[[], Any]) -> Any:
    """``new_value``, except that a metric blocking update gives ``Entries``: what
    ``option_after`` would render (parsing a rendered value gives back its entries)."""
    if not (isinstance(value, partial) and value.func is _metric_update):
        return new_value(value, previous)
    before = previous()
    state = before if isinstance(before, Entries) else lenient(before)
    return Entries(with_entry(state, entry_of(value.args[0])))


def rendered(value: Any) -> Any:
    return render_option(value) if isinstance(value, Entries) else value
