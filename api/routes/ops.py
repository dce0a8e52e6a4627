"""Operations: health, Prometheus metrics, and the API root sentry-cli's ``info`` reads."""

from __future__ import annotations

import hmac
import os
from typing import Any

from flask import Blueprint, Response, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess

from api import context
from api.errors import OUTAGES, detail

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
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
def api_root() -> Any:
    if not request.headers.get("Authorization"):
        return jsonify(version="0", auth=None, user=None)
    who = context.principal()
    return jsonify(version="0", auth={"scopes": list(who.scopes)}, user=None)
