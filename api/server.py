"""``eventry serve``: gunicorn in this process's place, with the app built from the environment.

The process is replaced (exec) rather than wrapped so that gunicorn's workers import the app
fresh: Prometheus' multi-process mode must be switched on before its client library is imported.
"""

from __future__ import annotations

import os
import sys
import tempfile

from infra.config import Settings


def gunicorn_argv(host: str, port: int, workers: int, settings: Settings) -> list[str]:
    # Each worker reads requests on an event loop and runs the app in threads once a request has
    # fully arrived (api.asgi), so slow or idle clients cannot occupy the threads; the embedded
    # default runs one worker, as its projection thread and SQLite file belong to one process.
    return [
        sys.executable, "-m", "gunicorn",
        "--config", "python:api.gunicorn_conf",
        "--bind", f"{host}:{port}",
        "--workers", str(1 if settings.is_embedded else workers),
        "--worker-class", "api.gunicorn_worker.Worker",
        "--timeout", "60",  # a silent worker is restarted; also the longest wait for one body read
        "--keep-alive", "5",
        "--graceful-timeout", "10",
        "--no-control-socket",  # its default path is one per user: deployments would share it
        "api.wsgi:asgi_app",
    ]  # fmt: skip


def run(host: str, port: int, workers: int, settings: Settings) -> None:
    env = dict(os.environ)
    if workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in env:
        env["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="eventry-metrics-")
    argv = gunicorn_argv(host, port, workers, settings)
    os.execve(sys.executable, argv, env)
