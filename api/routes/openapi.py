"""``GET /api/0/openapi.json``: the OpenAPI document of every route (no auth), built once per app."""

from __future__ import annotations

from flask import Response, current_app, jsonify
from flask_smorest import Blueprint

from api import openapi
from api.openapi import PUBLIC, operation

bp = Blueprint("openapi", __name__)
ANY_OBJECT = {"type": "object", "additionalProperties": True}


@bp.get("/openapi.json")
@bp.response(200, ANY_OBJECT)
@operation("This OpenAPI document", auth=PUBLIC)
def document() -> Response:
    if "openapi" not in current_app.extensions:
        current_app.extensions["openapi"] = openapi.build(current_app)
    return jsonify(current_app.extensions["openapi"])
