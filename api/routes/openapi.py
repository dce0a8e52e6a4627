"""``GET /api/0/openapi.json``: the OpenAPI document of every route (no auth), built once per app."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from api import openapi

bp = Blueprint("openapi", __name__)


@bp.get("/openapi.json")
def document() -> Response:
    if "openapi" not in current_app.extensions:
        current_app.extensions["openapi"] = openapi.build(current_app)
    return jsonify(current_app.extensions["openapi"])
