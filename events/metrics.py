"""Metric blocking. Each event records the operation asked for and the metric's blocking entry
after it: the change, not the whole ``sentry:blocked_metrics`` option. The option's value
after an event is the value before it with that one entry replaced (``option_after``), which
is how the deciders and every view fold it, identically.

Version 1 of these events also carried the whole option value (it grew with every blocked
metric: 99 kB at 1,000). Version 2 leaves it out; the v1 payloads are read as v2 by dropping
it, and the fold gives the same value the v1 event recorded (tests/unit/test_metric_events.py
checks that on a log written the old way).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from events.base import event, upcaster
from events.projects import ProjectEvent

BLOCKED_METRICS_OPTION = "sentry:blocked_metrics"


@dataclass(frozen=True)
class MetricBlockingChanged(ProjectEvent):
    project_slug: str
    metric_mri: str
    is_blocked: bool
    blocked_tags: tuple[str, ...]  # the metric's blocked tags after the operation, sorted


@event
@dataclass(frozen=True)
class MetricBlocked(MetricBlockingChanged):
    TOPIC = "metrics.MetricBlocked.v2"


@event
@dataclass(frozen=True)
class MetricUnblocked(MetricBlockingChanged):
    TOPIC = "metrics.MetricUnblocked.v2"


@dataclass(frozen=True)
class MetricTagsChanged(MetricBlockingChanged):
    tags: tuple[str, ...]  # the tags the operation named


@event
@dataclass(frozen=True)
class MetricTagsBlocked(MetricTagsChanged):
    TOPIC = "metrics.MetricTagsBlocked.v2"


@event
@dataclass(frozen=True)
class MetricTagsUnblocked(MetricTagsChanged):
    TOPIC = "metrics.MetricTagsUnblocked.v2"


@event
@dataclass(frozen=True)
class BlockedMetricsReset(ProjectEvent):
    """The stored option was malformed; as Sentry does, it is deleted (the bad value is kept here)."""

    TOPIC = "metrics.BlockedMetricsReset.v1"
    malformed_value: str


def _without_option_value(payload: dict[str, Any]) -> dict[str, Any]:
    payload.pop("option_value", None)
    return payload


for _name in ("MetricBlocked", "MetricUnblocked", "MetricTagsBlocked", "MetricTagsUnblocked"):
    upcaster(f"metrics.{_name}.v1", f"metrics.{_name}.v2")(_without_option_value)


# -- the option's format (Sentry's MetricsBlockingState) ------------------------------------


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


Blocking = Mapping[str, MetricBlocking]  # by mri, in the option's order


class MalformedOption(ValueError):
    pass


def parse_option(raw: Any) -> dict[str, MetricBlocking]:
    """``MetricsBlockingState.load_from_project``: missing or empty means no blocking; entries
    without an mri are skipped; a repeated mri keeps its first place and its last value.
    Raises ``MalformedOption`` for a value Sentry could not load."""
    if raw is None or raw == "":
        return {}
    try:
        if not isinstance(raw, str):
            raise ValueError(raw)
        decoded = json.loads(raw)
    except ValueError:
        raise MalformedOption("Invalid metrics blocking state payload") from None
    if not isinstance(decoded, list):
        raise MalformedOption("The metrics blocking state payload is not a list")
    state: dict[str, MetricBlocking] = {}
    for item in decoded:
        if not isinstance(item, dict) or ("metric_mri" in item and "is_blocked" not in item):
            raise MalformedOption("Invalid metrics blocking state payload")
        if "metric_mri" not in item:
            continue
        tags = item.get("blocked_tags") or []
        if not isinstance(tags, list):
            raise MalformedOption("Invalid metrics blocking state payload")
        mri = str(item["metric_mri"])
        state[mri] = MetricBlocking(mri, bool(item["is_blocked"]), frozenset(map(str, tags)))
    return state


def render_option(state: Blocking) -> str:
    """``save_to_project``: ``json.dumps`` of the entries' ``__dict__`` (tags sorted here),
    written entry by entry: an entry is rendered once and reused while it is unchanged (a
    metric event changes one entry of the option; views render the option at every event)."""
    return "[" + ", ".join(map(_entry_json, state.values())) + "]"


def _entry_json(b: MetricBlocking) -> str:
    if type(b.is_blocked) is not bool:  # equal to a bool entry (1 == True), rendered otherwise
        return json.dumps(
            {"metric_mri": b.metric_mri, "is_blocked": b.is_blocked, "blocked_tags": sorted(b.blocked_tags)}
        )
    return _rendered_entry(b)


@functools.lru_cache(maxsize=4096)
def _rendered_entry(b: MetricBlocking) -> str:
    """``json.dumps`` of one entry's dict, with its default separators."""
    tags = ", ".join(map(_json_string, sorted(b.blocked_tags)))
    blocked = "true" if b.is_blocked else "false"
    return (
        f'{{"metric_mri": {_json_string(b.metric_mri)}, "is_blocked": {blocked}, "blocked_tags": [{tags}]}}'
    )


_json_string = json.encoder.encode_basestring_ascii  # what json.dumps writes a str as (ensure_ascii)


def with_entry(state: Blocking, entry: MetricBlocking) -> dict[str, MetricBlocking]:
    """The state with ``entry`` in its metric's place (new metrics last); empty entries leave."""
    new_state = dict(state)
    if entry.is_empty():
        new_state.pop(entry.metric_mri, None)
    else:
        new_state[entry.metric_mri] = entry
    return new_state


def entry_of(evt: MetricBlockingChanged) -> MetricBlocking:
    return MetricBlocking(evt.metric_mri, evt.is_blocked, frozenset(evt.blocked_tags))


def lenient(raw: Any) -> dict[str, MetricBlocking]:
    """The option as a fold reads it: a value the deciders would have reset counts as empty (an
    operation is never decided on one, so this only keeps a fold from failing)."""
    try:
        return parse_option(raw)
    except MalformedOption:
        return {}


def option_after(previous: Any, evt: MetricBlockingChanged) -> str:
    """The stored option's value after ``evt``, from its value before (what views fold). Only
    the changed entry is rendered: the others' JSON is kept from the value before."""
    cached = _RENDERED.get(previous) if isinstance(previous, str) else None
    if cached is None:
        state = lenient(previous)
        pieces = {mri: _entry_json(b) for mri, b in state.items()}
    else:
        state, pieces = cached
    entry = entry_of(evt)
    after, pieces = with_entry(state, entry), dict(pieces)
    if entry.is_empty():  # as ``with_entry`` does: in its place, new metrics last, empty ones gone
        pieces.pop(entry.metric_mri, None)
    else:
        pieces[entry.metric_mri] = _entry_json(entry)
    rendered = "[" + ", ".join(pieces.values()) + "]"  # render_option(after)
    if len(_RENDERED) >= 4096:
        _RENDERED.clear()
    _RENDERED[rendered] = (after, pieces)
    return rendered


# Values ``option_after`` rendered, with the entries they render and each entry's JSON: a view
# folding a project's metric events in a row parses none of the values it was handed (parse_option
# of what render_option wrote gives back the same entries; the entries are never changed in place).
_RENDERED: dict[str, tuple[dict[str, MetricBlocking], dict[str, str]]] = {}
