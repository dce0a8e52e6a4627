"""Prometheus counters and gauges, and structured JSON logging."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from typing import Any

import pythonjsonlogger.orjson
from prometheus_client import Counter, Gauge, Histogram

COMMANDS = Counter("eventry_commands_total", "Commands dispatched", ["command", "outcome"])
CONFLICTS = Counter(
    "eventry_command_conflicts_total", "Appends retried after a concurrent write", ["command"]
)
EVENTS_APPENDED = Counter("eventry_events_appended_total", "Events appended to the log", ["topic"])
# Under gunicorn's workers (multi-process mode) a scrape reports the most recent reading of any worker.
PROJECTION_POSITION = Gauge(
    "eventry_projection_position", "Last log position applied", ["projection"], multiprocess_mode="mostrecent"
)
PROJECTION_LAG = Gauge(
    "eventry_projection_lag_events",
    "Log head minus projection position",
    ["projection"],
    multiprocess_mode="mostrecent",
)
LOG_HEAD = Gauge(
    "eventry_log_head", "Position of the newest event in the log", multiprocess_mode="mostrecent"
)
PROJECTION_PARKED = Gauge(
    "eventry_projection_parked_events",
    "Events parked in the live generation of a projection (failed, or waiting behind one)",
    ["projection"],
    multiprocess_mode="mostrecent",
)
WORKER_HEARTBEAT_AGE = Gauge(
    "eventry_worker_heartbeat_age_seconds",
    "Seconds since the projection worker last finished a cycle (+Inf: it never reported)",
    multiprocess_mode="mostrecent",
)
REPLICA_LAG = Gauge(
    "eventry_replica_lag_seconds",
    "How far the read replica's replay is behind the primary (+Inf: it does not answer)",
    multiprocess_mode="max",
)
PROJECTION_HANDLER_FAILURES = Counter(
    "eventry_projection_handler_failures_total",
    "Events a projection's handler raised on (first tries and retries)",
    ["projection"],
)
REQUESTS = Histogram("eventry_http_request_seconds", "HTTP request latency", ["method", "endpoint", "status"])
# Label values come from fixed sets, never from what a client sends (each value is a new series,
# kept until the process exits): a method the client made up counts as "other".
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"})


def observe_request(method: str, endpoint: str, status: int, seconds: float) -> None:
    """``endpoint`` is the route's name (a fixed set; callers name unmatched requests alike)."""
    series = _request_series.get((method, endpoint, status))
    if series is None:  # the labels' checks and the metric's lock once per series, not per request
        series = REQUESTS.labels(method if method in HTTP_METHODS else "other", endpoint, str(status))
        if method in HTTP_METHODS:  # a made-up method is no key: what clients send stays bounded
            _request_series[(method, endpoint, status)] = series
    series.observe(seconds)


_request_series: dict[tuple[str, str, int], Any] = {}


def record_appended(topics: Iterable[str]) -> None:
    for topic in topics:
        EVENTS_APPENDED.labels(topic).inc()


TEXT_FORMAT = "%(levelname)s %(name)s %(message)s"


class JsonFormatter(pythonjsonlogger.orjson.OrjsonFormatter):
    """One JSON object a line for every logger, ours and gunicorn's: ts, level, logger, msg, the
    fields given to ``log()`` and any ``extra``, and exc for a traceback (python-json-logger,
    encoded by orjson: a request's line costs half of what the standard encoder took)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Arguments from a logging config (gunicorn's logconfig_dict) are ignored: one format.
        super().__init__(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger", "message": "msg", "exc_info": "exc"},
            timestamp="ts",
        )

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message)
        log_data["level"] = record.levelname.lower()
        log_data.update(log_data.pop("fields", None) or {})

    def jsonify_log_record(self, log_data: Any) -> str:
        try:
            return super().jsonify_log_record(log_data)
        except TypeError:  # what orjson will not write (a lone surrogate, an int past 64 bits)
            return json.dumps(log_data, default=str)


def configure_logging(level: str = "INFO", as_json: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if as_json else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def gunicorn_logging(level: str = "INFO", as_json: bool = True) -> dict[str, Any]:
    """gunicorn's ``logconfig_dict``: its own lines (start, workers, errors) in the app's format
    on stderr, not plain text among the JSON."""
    formatter = {"()": JsonFormatter} if as_json else {"format": TEXT_FORMAT}
    handler = {"class": "logging.StreamHandler", "formatter": "eventry", "stream": "ext://sys.stderr"}
    logger = {"level": level, "handlers": ["eventry"], "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"eventry": formatter},
        "handlers": {"eventry": handler},
        "root": {"level": level, "handlers": ["eventry"]},
        "loggers": {"gunicorn.error": logger, "gunicorn.access": logger},
    }


def log(logger: logging.Logger, level: int, msg: str, **fields: Any) -> None:
    """``logger.log(level, msg, extra={"fields": fields})`` without looking up the caller's
    file and line (a walk up the stack, normalizing each frame's file name), which no line
    shows: the same record otherwise, through the same handlers and filters."""
    if logger.isEnabledFor(level):
        record = logger.makeRecord(
            logger.name, level, "(unknown file)", 0, msg, (), None, extra={"fields": fields}
        )
        logger.handle(record)


HTTP_LOGGER = logging.getLogger("eventry.http")


def log_request(
    method: str | None, path: str | None, status: int, seconds: float, ip: str | None, request_id: str = ""
) -> None:
    """A request's one log line: written by the app (api/app.py), or by the event loop for a
    body it refused before the app saw it (api/asgi.py), which has no request id yet."""
    ids = {"request_id": request_id} if request_id else {}
    log(
        HTTP_LOGGER,
        logging.INFO,
        "request",
        method=method,
        path=path,
        status=status,
        ms=round(seconds * 1000, 2),
        **ids,
        ip=ip,
    )
