"""The Flask application factory. Nothing is built at import."""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from api import console, errors, lean
from api.context import request_id
from api.routes import (
    audit,
    environments,
    issues,
    metrics,
    openapi,
    ops,
    org_auth_tokens,
    organizations,
    project_keys,
    projects,
    relay_configs,
    relays,
    releases,
    repositories,
    teams,
    uploads,
)
from api.screen import refuse_unreadable_input
from infra import collector, telemetry
from infra.assemble import job_runner
from infra.bootstrap import Services, bootstrap
from infra.config import Settings


def create_app(services: Services | None = None, settings: Settings | None = None) -> Flask:
    app = Flask("eventry", static_folder=None)  # no static files: every route is in the OpenAPI document
    app.json.sort_keys = False  # type: ignore[attr-defined]
    if services is None:
        settings = settings or Settings.from_env()
        telemetry.configure_logging(settings.log_level, settings.log_json)
        services = bootstrap(settings)
        if settings.runs_projection_thread:
            services.start_worker()
            job_runner(services).start()  # assembly jobs; `eventry worker` runs them otherwise
    app.extensions["eventry"] = services
    errors.register(app)
    _log_requests(app)  # first: a request the screen refuses is timed and logged too
    _pause_collector_for_large_bodies(app)  # first: the body is parsed in the next one
    app.before_request(refuse_unreadable_input)
    app.register_blueprint(ops.bp)
    for module in (metrics, projects, audit, relays, relay_configs, uploads, organizations, project_keys):
        app.register_blueprint(module.bp, url_prefix="/api/0")
    for module in (releases, repositories, issues, teams, org_auth_tokens, environments, openapi):
        app.register_blueprint(module.bp, url_prefix="/api/0")
    console.register(app)  # the operator console's pages, under /console/ (not in the OpenAPI document)
    # Relay's config fetch, the hottest route, answered before Flask's machinery when ordinary.
    lean.serve_first(app, {relay_configs.PATH: relay_configs.lean_project_configs}, max_body=LARGE_BODY)
    _behind_proxies(app, services.settings.trusted_proxies)
    return app


LARGE_BODY = 1 << 20  # bytes: a commit list of a few thousand commits


def _pause_collector_for_large_bodies(app: Flask) -> None:
    """A request with a large body runs with the cyclic collector paused (``infra.collector``):
    parsing, validating and deciding 10,000 commits makes some hundred thousand containers, and
    the collections they trigger scanned the worker's whole heap."""

    @app.before_request
    def _pause() -> None:
        if (request.content_length or 0) >= LARGE_BODY:
            collector.pause()
            g.collector_paused = True

    @app.teardown_request
    def _resume(_: BaseException | None) -> None:
        if g.pop("collector_paused", False):
            collector.resume()


def _behind_proxies(app: Flask, hops: int) -> None:
    """Behind HOPS trusted reverse proxies the client is the address they forwarded (the audit
    log's IP address, the request log): werkzeug's ProxyFix. Zero trusts no header, as a
    client could set them itself."""
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]


def _log_requests(app: Flask) -> None:
    @app.before_request
    def _start() -> None:
        g.started = time.perf_counter()
        request_id()

    @app.after_request
    def _finish(response: Any) -> Any:
        started = g.get("started")  # set by ``_start``, the first hook of every request
        elapsed = time.perf_counter() - started if started is not None else 0.0
        endpoint = request.endpoint or "unknown"
        telemetry.observe_request(request.method, endpoint, response.status_code, elapsed)
        response.headers["X-Request-ID"] = request_id()
        telemetry.log_request(
            request.method, request.path, response.status_code, elapsed, request.remote_addr, request_id()
        )
        return response
