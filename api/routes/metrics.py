"""Metric and tag blocking: ``PUT /projects/{org}/{project}/metrics/visibility/``."""

from __future__ import annotations

from flask import Response
from flask_smorest import Blueprint

from api import context
from api.commanding import execute
from api.openapi import operation
from api.response_fields import Body, Bool, ListOf, Str, strings
from api.schemas import MetricVisibilitySchema, load_detail
from commands.metrics import BlockMetric, BlockMetricTags, UnblockMetric, UnblockMetricTags

bp = Blueprint("metrics", __name__)
SCHEMA = MetricVisibilitySchema()


class MetricVisibility(Body):
    """``BlockedMetric.to_response``."""

    metricMri = Str()
    isBlocked = Bool()
    blockedTags = ListOf(strings())


@bp.put("/projects/<org_slug>/<project_slug>/metrics/visibility/")
@bp.response(200, MetricVisibility)
@operation("Block or unblock a metric or its tags", body=MetricVisibilitySchema, writes=True, errors=(404,))
@context.requires(context.PROJECT_WRITE)
def metrics_visibility(org_slug: str, project_slug: str) -> Response:
    _, project = context.project(org_slug, project_slug, context.PROJECT_WRITE)
    body = load_detail(SCHEMA, context.json_body(), ["operationType", "metricMri", "tags"])
    mri, tags, operation = body["metricMri"], tuple(body["tags"] or ()), body["operationType"]
    command = {
        "blockMetric": lambda: BlockMetric(project.id, mri),
        "unblockMetric": lambda: UnblockMetric(project.id, mri),
        "blockTags": lambda: BlockMetricTags(project.id, mri, tags),
        "unblockTags": lambda: UnblockMetricTags(project.id, mri, tags),
    }[operation]()
    return execute(command)
