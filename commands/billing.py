"""The billing metrics consumer's one write to the log: a project's first custom metric."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Self

from commands.base import Change, Command, Decision, NotFound, State, handles
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
