"""``/console/``: sign in with an API token, sign out."""

from __future__ import annotations

from typing import Any

from flask import redirect, request, session, url_for

from api import context
from api.console.web import bp, page, sign_in, signed_in
from projections.directory import find_organization


@bp.get("/")
def index() -> Any:
    """The sign-in form; once signed in, the token's organization's audit log."""
    who = signed_in()
    if who is None:
        return page("signin.html", failed=False)
    with context.services().engine.read("directory") as view:
        org = find_organization(view, str(who.organization_id))
    if org is None:  # the organization is gone: nothing to show
        session.clear()
        return page("signin.html", failed=False)
    return redirect(url_for("console.audit", org_slug=org.slug))


@bp.post("/login")
def login() -> Any:
    if sign_in(request.form.get("token", "")) is None:
        return page("signin.html", failed=True), 401
    return redirect(url_for("console.index"), 303)


@bp.post("/logout")
def logout() -> Any:
    session.clear()
    return redirect(url_for("console.index"), 303)
