"""The billing metrics consumer's one write to the log: a project's first custom metric."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Self

from commands.base import Change, Command, Decision, NotFound, State, handles
from commands.metrics import MRI_PATTERN
from events import Event
from events.billing import FirstCustomMetricReceived
from events.projects import ProjectCreated
from events.streams import project as project_stream


@dataclass(frozen=True)
class CustomMetricsFlag(State):
    organization_id: int | None = None
    has_custom_metrics: bool = False

    def evolve(self, event: Event) -> Self:
        if isinstance(event, ProjectCreated):
            return replace(self, organization_id=event.organization_id)
        if isinstance(event, FirstCustomMetricReceived):
            return replace(self, has_custom_metrics=True)
        return self


@dataclass(frozen=True)
class RecordCustomMetric(Command):
    project_id: int
    organization_id: int
    metric_mri: str


@handles(RecordCustomMetric, reads=lambda c: {"project": (project_stream(c.project_id), CustomMetricsFlag)})
def record_custom_metric(cmd: RecordCustomMetric, now: datetime, project: CustomMetricsFlag) -> Decision:
    """Flag the project once; a message processed again (after a crash) adds nothing."""
    if project.organization_id is None or project.organization_id != cmd.organization_id:
        raise NotFound("The requested resource does not exist")
    if project.has_custom_metrics:
        return Decision(result=False)
    flagged = FirstCustomMetricReceived(cmd.project_id, cmd.organization_id, cmd.metric_mri)
    return Decision(changes=(Change(project_stream(cmd.project_id), flagged),), result=True)


# Indexer ids Sentry hard-codes for the usage metrics (``PREFIX = 1 << 63``).
PREFIX = 1 << 63
TRANSACTIONS_USAGE = PREFIX + 137  # c:transactions/usage@none
SPANS_USAGE = PREFIX + 418  # c:spans/usage@none
HAS_PROFILE_TAG = PREFIX + 260  # has_profile

ACCEPTED = 0
TRANSACTION, PROFILE, SPAN = 2, 6, 12  # DataCategory


def billing_outcomes(message: dict[str, Any]) -> list[tuple[int, int]]:
    """The 2024 rules: ``(category, quantity)`` for a generic-metrics message. Only the usage
    counters count; a quantity below 1 counts nothing."""
    metric_id = message.get("metric_id")
    if message.get("type") != "c" or metric_id not in (TRANSACTIONS_USAGE, SPANS_USAGE):
        return []
    try:
        quantity = int(message.get("value"))  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return []
    if quantity < 1:
        return []
    if metric_id == SPANS_USAGE:
        return [(SPAN, quantity)]
    outcomes = [(TRANSACTION, quantity)]
    if (message.get("tags") or {}).get(str(HAS_PROFILE_TAG)) == "true":
        outcomes.append((PROFILE, quantity))
    return outcomes


def custom_metric_mri(message: dict[str, Any]) -> str | None:
    """The message's MRI (resolved through ``mapping_meta``) when it names a custom metric."""
    key = str(message.get("metric_id"))
    for names in (message.get("mapping_meta") or {}).values():
        mri = names.get(key) if isinstance(names, dict) else None
        if isinstance(mri, str):
            match = MRI_PATTERN.match(mri)
            return mri if match and match.group("namespace") == "custom" else None
    return None
