"""What the billing metrics consumer records in the log (outcomes go to their own stream)."""

from __future__ import annotations

from dataclasses import dataclass

from events.base import event
from events.projects import ProjectEvent


@event
@dataclass(frozen=True)
class FirstCustomMetricReceived(ProjectEvent):
    """Sentry's ``first_custom_metric_received``: sets the project's ``has_custom_metrics`` flag."""

    TOPIC = "billing.FirstCustomMetricReceived.v1"
    metric_mri: str
