"""The operator console: server-rendered pages (Jinja, htmx, Chart.js; both vendored under
static/) over the same token authentication, scopes and read models as the API."""

from __future__ import annotations

from flask import Flask

from api.console import audit, log, projections, signin
from api.console.web import bp, configure

__all__ = ["audit", "log", "projections", "register", "signin"]


def register(app: Flask) -> None:
    configure(app)
    app.register_blueprint(bp)
