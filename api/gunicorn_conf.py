"""gunicorn hooks for ``eventry serve``."""

from __future__ import annotations

import os
from typing import Any

from gunicorn.glogging import Logger

from infra.config import Settings
from infra.telemetry import gunicorn_logging

_settings = Settings.from_env()  # `eventry serve` validated it before it started gunicorn
logconfig_dict = gunicorn_logging(_settings.log_level, _settings.log_json)


class AppLogsRequests(Logger):
    """gunicorn's logger without its access line: the app logs one line per request itself,
    with the request id (api/app.py, and api/asgi.py for what it answers before the app).
    gunicorn's line said it again and cost a tenth of a worker's CPU."""

    @property
    def access_log_enabled(self) -> bool:
        return False


logger_class = AppLogsRequests


def child_exit(server: Any, worker: Any) -> None:
    """A dead worker's Prometheus files must stop counting as live gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
