"""Operations: health, Prometheus metrics, and the API root sentry-cli's ``info`` reads."""

from __future__ import annotations

import hmac
import os
from typing import Any

from flask import Response, jsonify, request
from flask_smorest import Blueprint
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess

from api import context
from api.errors import detail
from api.openapi import OPTIONAL_BEARER, PUBLIC, operation
from api.response_fields import Body, ListOf, Null, Obj, Str, strings
from infra import readiness

bp = Blueprint("ops", __name__)


class Health(Body):
    status = Str(enum=["ok"])


class ApiAuth(Body):
    scopes = ListOf(strings())


class ApiRoot(Body):
    version = Str(enum=["0"])
    auth = Obj(ApiAuth, null=True)
    user = Null()


READINESS = {
    "type": "object",
    "properties": {"ready": {"type": "boolean"}, "reasons": {"type": "array", "items": {"type": "string"}}},
    "required": ["ready", "reasons"],
}


@bp.get("/healthz")
@bp.response(200, Health)
@operation("Liveness: the process answers (it touches no backing service)", auth=PUBLIC)
def healthz() -> Any:
    return jsonify(status="ok")


@bp.get("/readyz")
@bp.response(200, READINESS)
@bp.alt_response(503, schema=READINESS, success=True)
@operation(
    "Readiness: event store, views, Redis, lag and the worker's heartbeat; 503 with the reasons",
    auth=PUBLIC,
)
def readyz() -> Any:
    """Whether this deployment's reads can be trusted (infra/readiness.py): 503 with the
    reasons when they cannot; a failing backing service is a reason, never a 500."""
    reasons = readiness.reasons(context.services())
    return jsonify(ready=not reasons, reasons=reasons), 503 if reasons else 200


@bp.get("/metrics")
@bp.response(200, {"type": "string"}, content_type="text/plain")
@operation("Prometheus metrics", auth=PUBLIC)
def metrics() -> Response:
    _metrics_token_checked()
    svc = context.services()
    svc.engine.status()  # refreshes the lag and parked-events gauges
    svc.heartbeat.age()  # and the heartbeat's
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
    return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)


def _metrics_token_checked() -> None:
    """With ``EVENTRY_METRICS_TOKEN`` set, /metrics answers only ``Authorization: Bearer <it>``."""
    wanted = context.services().settings.metrics_token
    if not wanted:
        return
    header = request.headers.get("Authorization", "")
    if not header:
        raise detail(401, "Authentication credentials were not provided.", {"WWW-Authenticate": "Bearer"})
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), wanted.encode()):
        raise detail(401, "Invalid token", {"WWW-Authenticate": "Bearer"})


@bp.get("/api/0/")
@bp.response(200, ApiRoot)
@operation("The API root sentry-cli's `info` reads: the token's scopes", auth=OPTIONAL_BEARER)
def api_root() -> Any:
    if not request.headers.get("Authorization"):
        return jsonify(version="0", auth=None, user=None)
    who = context.principal()
    return jsonify(version="0", auth={"scopes": list(who.scopes)}, user=None)
