"""Routes answered before Flask's machinery in their common case (``serve_first``).

A hot route (Relay's project config fetch) may register a *lean handler* for its path: a
function of the services and the request's verified parts that returns the body of its 200
answer, and shares with the Flask view everything that decides the answer. The request reaches
it only when it is ordinary: ``POST``, a declared ``Content-Length`` below the size at which
the app pauses the collector, no chunked framing, no multipart body, only ASCII in header names
and values (so the input screen, ``api.screen``, could find nothing in them), a body that the
screen's parser reads (``load_json``). Everything else, and anything the handler declines
(``Handover``, raised before it has done anything), is served by Flask from the start, with the
body as it was read.

What every route gets is kept: the request log line and the Prometheus observation under the
Flask view's endpoint name, the ``X-Request-ID`` header. An exception from the handler, before
or after a side effect (a replay marker claimed), is answered by Flask's own error handlers in
a request context of this request (``api.errors``, then the app's ``after_request`` hooks):
the same status, body and headers as the view would have answered.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from flask import Flask, g

from api.context import new_request_id
from api.errors import ApiError
from api.screen import load_json
from infra import telemetry
from infra.bootstrap import Services

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class Handover(Exception):
    """Raised by a lean handler, before it has done anything, for a request it leaves to Flask."""


@dataclass(frozen=True)
class LeanRequest:
    environ: dict[str, Any]
    body: bytes
    data: Any  # the body, parsed by the input screen's parser

    @property
    def query(self) -> str:
        return str(self.environ.get("QUERY_STRING", ""))

    def header(self, name: str) -> str | None:
        """A request header by its WSGI name (``HTTP_X_SENTRY_RELAY_ID``)."""
        value = self.environ.get(name)
        return None if value is None else str(value)


LeanHandler = Callable[[Services, LeanRequest], bytes]


def serve_first(app: Flask, routes: dict[str, LeanHandler], max_body: int) -> None:
    """Put the lean handlers of ``routes`` (by path, each a ``POST`` route of the app) in front
    of ``app.wsgi_app``; bodies of ``max_body`` bytes or more go to Flask."""
    flask_app = app.wsgi_app
    svc: Services = app.extensions["eventry"]
    adapter = app.url_map.bind("")
    endpoints = {path: str(adapter.match(path, method="POST")[0]) for path in routes}

    def serve(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        handler = routes.get(path)
        if handler is None or environ.get("REQUEST_METHOD") != "POST":
            return flask_app(environ, start_response)
        started = time.perf_counter()
        call = _ordinary(environ, max_body)
        if call is None:
            return flask_app(environ, start_response)
        try:
            body = handler(svc, call)
        except Handover:
            return flask_app(environ, start_response)
        except Exception as exc:  # answered as the view's would be, by Flask's handlers
            return _flask_error(app, environ, start_response, exc, started)
        rid = new_request_id(str(environ.get("HTTP_X_REQUEST_ID", "")))
        start_response(
            "200 OK",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body))), ("X-Request-ID", rid)],
        )
        elapsed = time.perf_counter() - started
        telemetry.observe_request("POST", endpoints[path], 200, elapsed)
        telemetry.log_request("POST", path, 200, elapsed, environ.get("REMOTE_ADDR"), rid)
        return [body]

    serve.__wrapped__ = flask_app  # type: ignore[attr-defined]  # Flask alone (tests compare the two)
    app.wsgi_app = serve  # type: ignore[method-assign]


def _ordinary(environ: dict[str, Any], max_body: int) -> LeanRequest | None:
    """The request's body and its parse when the request is ordinary (see the module's
    docstring), else None. The body read is put back for Flask either way."""
    length = str(environ.get("CONTENT_LENGTH") or "")
    if not (length.isascii() and length.isdigit() and 0 < int(length) < max_body):
        return None
    if "HTTP_TRANSFER_ENCODING" in environ:
        return None
    if "multipart" in environ.get("CONTENT_TYPE", "").lower():
        return None
    headers = [(k, v) for k, v in environ.items() if k.startswith("HTTP_") or k.startswith("CONTENT_")]
    if not all(isinstance(v, str) and k.isascii() and v.isascii() for k, v in headers):
        return None
    try:
        body = environ["wsgi.input"].read(int(length))
    except Exception:  # the client went away: what Flask makes of the stream is the answer
        return None
    environ["wsgi.input"] = io.BytesIO(body)  # Flask reads what was sent, whoever answers
    if not isinstance(body, bytes) or len(body) != int(length):
        return None
    try:
        data = load_json(body)
    except (ValueError, ApiError):  # not JSON (the view says so), or refused (the screen does)
        return None
    return LeanRequest(environ, body, data)


def _flask_error(
    app: Flask, environ: dict[str, Any], start_response: StartResponse, exc: Exception, started: float
) -> Iterable[bytes]:
    """``exc`` answered by the app's error handlers and ``after_request`` hooks (the log line,
    the metrics, ``X-Request-ID``), in a request context of this request."""
    with app.request_context(environ):
        g.started = started
        response = app.finalize_request(app.handle_user_exception(exc))
        answer: Iterable[bytes] = response(environ, start_response)
        return answer
