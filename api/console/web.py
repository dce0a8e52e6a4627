"""The console's blueprint, its sign-in session and the checks every page makes.

A session is a signed cookie (Flask's, keyed from the system secret, HttpOnly, SameSite=Strict,
path /console, Secure when the server's URL is https) holding the *hash* of the API token that
signed in, never the token: the cookie cannot be replayed against the API, and the token is
looked up on every request exactly as a bearer token is (``context.principal_of``), so a
revoked or expired token signs the session out. Every form carries a CSRF token (Flask-WTF's,
bound to the session); every POST is checked before its view runs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta
from typing import Any

from flask import Blueprint, Flask, g, redirect, render_template, request, session, url_for
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask.wrappers import Request
from flask_wtf.csrf import CSRFError, generate_csrf, validate_csrf
from werkzeug.exceptions import HTTPException
from wtforms import ValidationError

from api import context
from api.context import Principal
from api.errors import ApiError
from commands.organizations import OPERATOR_SCOPE
from infra.tokens import hash_token
from projections.directory import OrganizationRow, find_organization

SESSION_LIFETIME = timedelta(hours=8)

bp = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)


class NotSignedIn(Exception):
    """No valid session: pages send the browser to sign in; streams and fragments get 401."""


class ConsoleSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, opened only under the cookie's path: the browser sends
    the cookie nowhere else, so the API's requests skip building the signer for nothing."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if not request.path.startswith(self.get_cookie_path(app)):
            return None  # Flask's null session: read-only, never saved
        return super().open_session(app, request)


def configure(app: Flask) -> None:
    """Session cookie settings and the key that signs it (derived from the system secret,
    which every process of a deployment shares)."""
    settings = app.extensions["eventry"].settings
    secret = settings.system_secret().encode()
    app.secret_key = hmac.new(secret, b"eventry console session", hashlib.sha256).hexdigest()
    app.config.update(
        SESSION_COOKIE_NAME="eventry_console",
        SESSION_COOKIE_PATH="/console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=settings.url_prefix.startswith("https://"),
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
    )
    app.session_interface = ConsoleSessions()
    app.jinja_env.globals["csrf_token"] = generate_csrf


def sign_in(token: str) -> Principal | None:
    """Start a session for ``token``; None (and no session) when it does not authenticate."""
    hashed = hash_token(token.strip())
    try:
        who = context.principal_of(hashed)
    except ApiError:
        return None
    session.clear()  # a new session for the new identity (no fixation)
    session.permanent = True
    session["token"] = hashed
    return who


def signed_in() -> Principal | None:
    hashed = session.get("token")
    if not isinstance(hashed, str):
        return None
    try:
        who = context.principal_of(hashed)
    except ApiError:  # revoked or expired since: the session ends with it
        session.clear()
        return None
    g.principal = who  # what the API's helpers (read-your-writes) read
    return who


def principal() -> Principal:
    who = signed_in()
    if who is None:
        raise NotSignedIn()
    return who


def is_operator(who: Principal) -> bool:
    return OPERATOR_SCOPE in who.scopes


def operator() -> Principal:
    """The signed-in principal, which must hold the operator scope (403 otherwise)."""
    who = principal()
    if not is_operator(who):
        raise ApiError(403, {"detail": context.NO_PERMISSION})
    return who


def organization(slug: str) -> OrganizationRow:
    """The organization a console path names: 404 for one that is not the token's (the
    console does not tell another organization's pages from missing ones), then 403 without
    one of the scopes the page declares (``@context.requires``)."""
    who = principal()
    scopes = context.declared_scopes()
    with context.services().engine.read("directory") as view:
        org = find_organization(view, slug)
    if org is None or org.id != who.organization_id:
        raise ApiError(404, {"detail": context.NOT_FOUND})
    if not set(who.scopes) & set(scopes):
        raise ApiError(403, {"detail": context.NO_PERMISSION})
    return org


def page(template: str, **values: Any) -> str:
    """A template rendered with who is signed in, whether they may operate, and the slug of
    their organization (the navigation's links)."""
    who: Principal | None = g.get("principal")
    home = values["org"].slug if "org" in values else _home(who)
    return render_template(
        template, who=who, operator=who is not None and is_operator(who), home=home, **values
    )


def _home(who: Principal | None) -> str | None:
    if who is None:
        return None
    with context.services().engine.read("directory") as view:
        org = find_organization(view, str(who.organization_id))
    return org.slug if org else None


@bp.app_template_filter("pretty")
def pretty(value: Any) -> str:
    """JSON as the console shows it: indented, keys sorted."""
    return json.dumps(value, indent=2, sort_keys=True, default=str)


@bp.before_request
def _check_csrf() -> None:
    if request.method == "POST":
        try:
            validate_csrf(request.form.get("csrf_token") or request.headers.get("X-CSRFToken"))
        except ValidationError as exc:
            raise CSRFError(str(exc)) from None


@bp.after_request
def _headers(response: Any) -> Any:
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'self'"
    )
    return response


@bp.errorhandler(NotSignedIn)
def _not_signed_in(exc: NotSignedIn) -> Any:
    if request.method == "GET" and not request.headers.get("HX-Request") and not _wants_stream():
        return redirect(url_for("console.index"))
    return _error(401, "Sign in first.")


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError) -> Any:
    body = exc.body if isinstance(exc.body, dict) else {"detail": str(exc.body)}
    message = body.get("detail") or "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in body.items())
    return _error(exc.status, str(message))


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Any:
    return _error(exc.code or 500, exc.description or exc.name)


def _error(status: int, message: str) -> Any:
    return page("error.html", status=status, message=message), status


def _wants_stream() -> bool:
    return "text/event-stream" in request.headers.get("Accept", "")
