"""Per-request context: the services, the caller's token, and the resources a path names."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from flask import current_app, g, request

from api.errors import ApiError, detail
from api.screen import MALFORMED_JSON, parsed_body
from api.screen import NULL_CHARACTERS as NULL_CHARACTERS  # where tests import it from
from commands.organizations import TokenState
from events import Meta, streams
from infra.bootstrap import Services
from infra.read_your_writes import position_for
from infra.tokens import ORG_PREFIX, hash_token
from projections import View
from projections.directory import OrganizationRow, ProjectRow, find_organization, find_project, find_redirect

NOT_FOUND = "The requested resource does not exist"
NO_PERMISSION = "You do not have permission to perform this action."

# Scope sets per kind of access, as Sentry's permission classes map them.
PROJECT_READ = ("project:read", "project:write", "project:admin")
PROJECT_WRITE = ("project:write", "project:admin")
PROJECT_ADMIN = ("project:admin",)
PROJECT_CREATE = ("project:write", "project:admin", "org:write", "org:admin")  # TeamProjectPermission
ORG_READ = ("org:read", "org:write", "org:admin")
ORG_WRITE = ("org:write", "org:admin")
ORG_ADMIN = ("org:admin",)
# Sentry's OrganizationReleasePermission and ProjectReleasePermission (releases, deploys,
# uploads): an organization's CI token (org:ci) may read and write releases, not delete them.
RELEASE_READ = ("project:read", "project:write", "project:admin", "project:releases", "org:ci")
RELEASE_WRITE = ("project:write", "project:admin", "project:releases", "org:ci")
RELEASE_DELETE = ("project:admin", "project:releases")

RouteT = TypeVar("RouteT", bound=Callable[..., Any])


def requires(scopes: tuple[str, ...]) -> Callable[[RouteT], RouteT]:
    """Declare the scopes a route accepts (any one is enough). ``organization()`` and
    ``project()`` enforce the declaration when not given scopes of their own; the auth matrix
    test reads it from every route."""

    def declare(view: RouteT) -> RouteT:
        view.required_scopes = scopes  # type: ignore[attr-defined]
        return view

    return declare


def declared_scopes() -> tuple[str, ...]:
    view = current_app.view_functions.get(request.endpoint or "")
    scopes = getattr(view, "required_scopes", None)
    if scopes is None:
        raise RuntimeError(f"route {request.endpoint} declares no scopes: decorate it with @requires(...)")
    return tuple(scopes)


@dataclass(frozen=True)
class Principal:
    token_id: int
    organization_id: int
    label: str
    scopes: tuple[str, ...]
    expires_at: datetime | None = None


def services() -> Services:
    svc: Services = current_app.extensions["eventry"]
    return svc


def request_id() -> str:
    found = g.get("request_id")  # one look-up of the request's globals: called a few times a request
    if found is None:
        found = g.request_id = new_request_id(request.headers.get("X-Request-ID", ""))
    return str(found)


def new_request_id(supplied: str) -> str:
    """The request's id: the client's ``X-Request-ID`` when it is printable, else a fresh one."""
    return supplied[:64] if supplied.isprintable() and supplied else _uuid4_hex()


def _uuid4_hex() -> str:
    """``uuid.uuid4().hex`` (random, version 4, RFC 4122 variant) without the ``UUID`` object
    and its integer: a quarter of its cost, for every request."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40
    raw[8] = raw[8] & 0x3F | 0x80
    return raw.hex()


def principal() -> Principal:
    """The bearer token's principal; 401 without a valid one."""
    known: Principal | None = g.get("principal")
    if known is not None:
        return known
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise detail(401, "Authentication credentials were not provided.")
    if scheme.lower() != "bearer" or not token.strip():
        raise detail(401, "Invalid token")
    who = _token_principal(token.strip())
    services().token_usage.touch(who.token_id)  # throttled: at most once a minute per token
    g.principal = who
    return who


def _token_principal(token: str) -> Principal:
    """The token's principal, in Sentry's words when there is none: an unknown or revoked
    token is ``Invalid token`` (``Invalid org token`` for an org auth token), an expired one
    ``Token expired``. A revocation by another process is seen within the lookup cache's
    lifetime (infra/lookups.py); expiry is checked on every request."""
    return principal_of(
        hash_token(token), "Invalid org token" if token.startswith(ORG_PREFIX) else "Invalid token"
    )


def principal_of(hashed: str, invalid: str = "Invalid token") -> Principal:
    """The principal of the token whose SHA-256 is ``hashed`` (all the operator console's
    session keeps); 401 ``invalid`` for an unknown or revoked token."""
    cache = services().lookups.principals
    who = cache.get(hashed)
    if who is None:
        state = TokenState.fold(r.event for r in services().store.read_stream(streams.api_token(hashed)))
        if state.token_id is None or state.organization_id is None or state.revoked:
            raise detail(401, invalid)
        expires = datetime.fromisoformat(state.expires_at) if state.expires_at else None
        who = Principal(state.token_id, state.organization_id, state.label, state.scopes, expires)
        cache.put(hashed, who)
    if who.expires_at is not None and who.expires_at <= datetime.now(UTC):
        raise detail(401, "Token expired")
    return who


def caller_key(who: Principal) -> str:
    return f"token:{who.token_id}"


def own_write_position(views: list[str]) -> int:
    """The log position ``views`` must reach for this caller to see its own writes (0: none).
    All of the caller's marks are fetched once per request."""
    if "own_marks" not in g:
        g.own_marks = services().marks.marks(caller_key(principal()))
    return position_for(g.own_marks, views)


def wait_until(position: int | None, views: list[str], name: str = "min_position") -> None:
    """Wait until ``views`` have applied ``position``: 400 past the log's end, 503 on timeout."""
    if not position:
        return
    svc = services()
    if svc.engine.reached(position, views):
        return
    head = svc.store.written()  # a caller's own write may be taken but not yet readable
    if position > head:
        raise detail(400, f"{name} {position} is beyond the end of the log (position {head})")
    if not svc.engine.wait(position, views, timeout=svc.settings.read_wait_timeout):
        raise detail(
            503,
            f"The read model has not reached position {position} yet; try again",
            {"Retry-After": "1"},
        )


def meta() -> Meta:
    who = principal()
    return Meta(
        actor_type="token",
        actor_id=who.token_id,
        actor_label=who.label,
        ip_address=request.remote_addr,
        request_id=request_id(),
    )


def require(scopes: tuple[str, ...]) -> None:
    if scopes and not set(principal().scopes) & set(scopes):
        raise detail(403, NO_PERMISSION)


def organization(slug: str, scopes: tuple[str, ...] | None = None) -> OrganizationRow:
    """The organization a path names, checked in the order of Sentry's permission classes: the
    token's scopes (403), the organization (404), then the token's organization (403).
    ``scopes`` default to the route's ``@requires`` declaration."""
    who = principal()
    require(declared_scopes() if scopes is None else scopes)
    org: OrganizationRow = _directory(("org", slug), lambda view: _existing_organization(view, slug))
    _same_organization(org, who)
    return org


def project(
    org_slug: str, project_slug: str, scopes: tuple[str, ...] | None = None
) -> tuple[OrganizationRow, ProjectRow]:
    """The project a path names, in the same order: scopes (403), the organization and the
    active project in it (404), then the token's organization (403)."""
    who = principal()
    require(declared_scopes() if scopes is None else scopes)

    def lookup(view: View) -> tuple[OrganizationRow, ProjectRow]:  # one read for both lookups
        org = _existing_organization(view, org_slug)
        proj = find_project(view, org.id, project_slug)
        if proj is None or proj.status != "active":
            moved = find_redirect(view, org.id, project_slug)
            if moved is None:
                raise detail(404, NOT_FOUND)
            _same_organization(org, who)  # Sentry shows a rename only to those who may see it
            raise _project_moved(org_slug, project_slug, moved.slug)
        return org, proj

    org, proj = _directory(("project", org_slug, project_slug), lookup)
    _same_organization(org, who)
    return org, proj


def _project_moved(org_slug: str, old_slug: str, new_slug: str) -> ApiError:
    """Sentry's ``ProjectMoved``: 302 to the same path (and query) under the project's new slug."""
    query = request.query_string.decode("latin-1")
    requested = request.path + (f"?{query}" if query else "")
    url = requested.replace(f"projects/{org_slug}/{old_slug}/", f"projects/{org_slug}/{new_slug}/")
    if url == requested:
        return detail(404, NOT_FOUND)
    return ApiError(
        302, {"slug": new_slug, "detail": {"extra": {"url": url, "slug": new_slug}}}, {"Location": url}
    )


def _directory(key: tuple[str, ...], lookup: Callable[[View], Any]) -> Any:
    """A directory lookup, from this process's cache while it is recent (infra/lookups.py) and
    was read once the view showed the caller's own writes (read-your-writes); a 404 is never
    cached."""
    svc = services()
    needed = max(own_write_position(["directory"]), _asked_position())
    found = svc.lookups.directory.get(key, at_least=needed)
    if found is None:
        wait_until(needed, ["directory"])
        with svc.engine.read("directory") as view:
            found = lookup(view)
        svc.lookups.directory.put(key, found, needed)  # the view had reached `needed`
    return found


def _asked_position() -> int:
    """``X-Eventry-Min-Position`` (or ``?min_position=``) when it is a position: a lookup cached
    before it must not answer a reader that asked for it (api/consistency.py refuses bad ones)."""
    raw = request.headers.get("X-Eventry-Min-Position") or request.args.get("min_position") or ""
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else 0


def _existing_organization(view: View, slug: str) -> OrganizationRow:
    org = find_organization(view, slug)
    if org is None:
        raise detail(404, NOT_FOUND)
    return org


def _same_organization(org: OrganizationRow, who: Principal) -> None:
    """Sentry's ``has_object_permission``: a token of another organization has no access to it
    (``NoAccess``), whatever its scopes: 403, after the lookups."""
    if org.id != who.organization_id:
        raise detail(403, NO_PERMISSION)


def json_body() -> Any:
    """The request's JSON body (``{}`` when empty), parsed by the screen's one parser: a body
    the screen did not read (too large, or of unknown length) is checked here the same way."""
    raw = request.get_data(cache=True)
    if not raw:
        return {}
    if not request.is_json:
        raise ApiError(400, {"detail": MALFORMED_JSON})
    try:
        return parsed_body(raw)
    except ValueError:
        raise ApiError(400, {"detail": MALFORMED_JSON}) from None
