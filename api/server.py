"""Running the API under gunicorn, in-process, for ``eventry serve``."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

from infra.config import Settings


class _Server(BaseApplication):
    def __init__(self, options: dict[str, Any], settings: Settings) -> None:
        self.options = options
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from api.app import create_app

        return create_app(settings=self.settings)


def run(host: str, port: int, workers: int, settings: Settings) -> None:
    embedded = settings.is_embedded
    options = {
        "bind": f"{host}:{port}",
        "workers": 1 if embedded else workers,
        # One process must serve concurrent requests on the embedded default: threads.
        "worker_class": "gthread" if embedded else "sync",
        "threads": 8 if embedded else 1,
        "timeout": 60,
        "graceful_timeout": 10,
        "accesslog": None,
    }
    _Server(options, settings).run()
