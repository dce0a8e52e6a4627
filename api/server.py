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
    embedded = settings.is_embedded
    return [
        sys.executable, "-m", "gunicorn",
        "--config", "python:api.gunicorn_conf",
        "--bind", f"{host}:{port}",
        # One process must serve concurrent requests on the embedded default: threads.
        "--workers", str(1 if embedded else workers),
        "--worker-class", "gthread" if embedded else "sync",
        "--threads", str(8 if embedded else 1),
        "--timeout", "60",
        "--graceful-timeout", "10",
        "api.wsgi:app",
    ]  # fmt: skip


def run(host: str, port: int, workers: int, settings: Settings) -> None:
    env = dict(os.environ)
    if workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in env:
        env["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="eventry-metrics-")
    argv = gunicorn_argv(host, port, workers, settings)
    os.execve(sys.executable, argv, env)
