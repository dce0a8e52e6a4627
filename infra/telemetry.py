"""Prometheus counters and gauges, and structured JSON logging."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

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
    REQUESTS.labels(method if method in HTTP_METHODS else "other", endpoint, str(status)).observe(seconds)


def record_appended(topics: Iterable[str]) -> None:
    for topic in topics:
        EVENTS_APPENDED.labels(topic).inc()


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str = "INFO", as_json: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if as_json else logging.Formatter("%(levelname)s %(name)s %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def log(logger: logging.Logger, level: int, msg: str, **fields: Any) -> None:
    logger.log(level, msg, extra={"fields": fields})
