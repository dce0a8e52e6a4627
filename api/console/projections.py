"""``/console/projections/``: every view's position, head, lag, generation and parked events;
rebuild and retry for operators (``eventry:operator``, a scope only ``eventry tokens create
--operator`` grants). Views are shared by every organization, so the page shows no tenant's
data to a token without that scope: counts only, no parked payload or error text."""

from __future__ import annotations

from typing import Any

from flask import Response, redirect, request, url_for

from api import context
from api.console.web import OPERATOR_SCOPE, bp, is_operator, operator, page, principal
from api.errors import ApiError
from infra.engine import UnknownProjection
from infra.rebuilds import RUNNING, Rebuilds

# htmx stops polling an element when its answer has this status.
STOP_POLLING = 286


@bp.get("/projections/")
@context.requires(())  # any signed-in token; operating needs OPERATOR_SCOPE
def projections() -> str:
    who = principal()
    engine = context.services().engine
    statuses = engine.status()
    counts = engine.parked_counts()
    runs = _rebuilds()
    rows = [
        {"status": s, "parked": counts.get(s.name, (0, 0)), "rebuild": runs.progress(s.name)}
        for s in statuses
    ]
    parked = engine.parked() if is_operator(who) else []
    return page("projections.html", rows=rows, parked=parked)


@bp.post("/projections/<name>/rebuild")
@context.requires((OPERATOR_SCOPE,))
def rebuild(name: str) -> Any:
    operator()
    try:
        started = _rebuilds().start(name)
    except UnknownProjection:
        raise ApiError(404, {"detail": f"No view named {name}"}) from None
    if request.headers.get("HX-Request"):  # the button's own cell shows the progress
        return progress(name)
    if not started:
        raise ApiError(409, {"detail": f"A rebuild of {name} is already running"})
    return redirect(url_for("console.projections", _anchor=f"view-{name}"), 303)


@bp.get("/projections/<name>/progress")
@context.requires(())
def progress(name: str) -> Response:
    """The rebuild's progress as a fragment; htmx polls it until the rebuild ends."""
    principal()
    try:
        context.services().engine.projection(name)
    except UnknownProjection:
        raise ApiError(404, {"detail": f"No view named {name}"}) from None
    state = _rebuilds().progress(name)
    response = Response(page("_rebuild_progress.html", name=name, run=state))
    if state["state"] != RUNNING:
        response.status_code = STOP_POLLING
    return response


@bp.post("/projections/<name>/retry")
@context.requires((OPERATOR_SCOPE,))
def retry(name: str) -> Any:
    operator()
    engine = context.services().engine
    try:
        engine.retry(name)
    except UnknownProjection:
        raise ApiError(404, {"detail": f"No view named {name}"}) from None
    return redirect(url_for("console.projections", _anchor=f"view-{name}"), 303)


def _rebuilds() -> Rebuilds:
    svc = context.services()
    return Rebuilds(svc.redis, svc.engine, svc.settings.deployment)
