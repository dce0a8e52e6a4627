"""Operations: health, Prometheus metrics, and the API root sentry-cli's ``info`` reads."""

from __future__ import annotations

import hmac
import os
from typing import Any

from flask import Response, jsonify, request
from flask_smorest import Blueprint
from marshmallow import fields
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess

from api import context
from api.errors import OUTAGES, detail
from api.openapi import OPTIONAL_BEARER, PUBLIC, operation
from api.response_fields import Body, ListOf, Map, Null, Obj, Str, strings

bp = Blueprint("ops", __name__)


class Health(Body):
    status = Str(enum=["ok", "unavailable"])
    checks = Map(fields.String())


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
@bp.alt_response(503, schema=Health, success=True)
@operation("Health of the event store, the views and Redis", auth=PUBLIC)
def healthz() -> Any:
    svc = context.services()
    checks: dict[str, str] = {}
    for name, probe in (
        ("event_store", svc.store.head),
        ("views", svc.engine.positions),
        ("redis", svc.redis.ping),
    ):
        try:
            probe()
            checks[name] = "ok"
        except OUTAGES as exc:
            checks[name] = f"unavailable: {type(exc).__name__}"
    healthy = all(v == "ok" for v in checks.values())
    return jsonify(status="ok" if healthy else "unavailable", checks=checks), 200 if healthy else 503


@bp.get("/readyz")
@bp.response(200, READINESS)
@bp.alt_response(503, schema=READINESS, success=True)
@operation(
    "Whether the views can be trusted: 503 with the reasons (parked events, missing views)", auth=PUBLIC
)
def readyz() -> Any:
    """Whether this deployment's views can be trusted: 503 with the reasons when an event is
    parked or a view is missing (``/healthz`` only says the process answers)."""
    try:
        reasons = context.services().engine.readiness()
    except OUTAGES as exc:
        reasons = [f"the view database is unavailable: {type(exc).__name__}"]
    if reasons:
        return jsonify(ready=False, reasons=reasons), 503
    return jsonify(ready=True, reasons=[]), 200


@bp.get("/metrics")
@bp.response(200, {"type": "string"}, content_type="text/plain")
@operation("Prometheus metrics", auth=PUBLIC)
def metrics() -> Response:
    _metrics_token_checked()
    context.services().engine.status()  # refreshes the lag gauges
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
