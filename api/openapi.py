"""The OpenAPI 3.1 document, generated from the app's own routes and the marshmallow schemas.

Every rule in ``app.url_map`` is looked up by endpoint in the registry (``api/openapi_docs.py``):
a route without an entry fails the build, so none can be left out. What the view function
declares is read from it (``@requires`` scopes); what is shared by every route (auth, errors,
read-your-writes, idempotency) is derived here; the rest (request and response schemas, query
parameters, statuses particular to the route) comes from the route's ``Doc``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask import Flask
from marshmallow import Schema

from api import drf, response_schemas

TITLE = "eventry"
VERSION = "0"
OPENAPI_VERSION = "3.1.0"
IGNORED_METHODS = {"HEAD", "OPTIONS"}
JSON = "application/json"

BEARER, RELAY, PUBLIC, OPTIONAL_BEARER = "bearer", "relay", "public", "optional-bearer"
SECURITY_SCHEMES = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token (`eventry tokens create --org SLUG --scopes a,b,c`). The scopes "
        "listed in an operation's security requirements are alternatives: any one is enough.",
    },
    "relayId": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Sentry-Relay-Id",
        "description": "The relay's id (a UUID), registered with the challenge/response routes.",
    },
    "relaySignature": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Sentry-Relay-Signature",
        "description": "Relay's ed25519 signature over the exact request body, made with the relay's "
        "secret key; at most 300 s old and accepted once.",
    },
}
RELAY_SECURITY: list[dict[str, list[str]]] = [{"relayId": [], "relaySignature": []}]

# A 400 is one of these shapes: Sentry's ``{"detail": ...}``, DRF-style field errors, or the
# upload routes' ``{"error": ...}``.
DETAIL, FIELDS, UPLOAD = "Detail", "FieldErrors", "UploadError"
FIELD_ERRORS_SCHEMA = {
    "type": "object",
    "description": 'DRF-style validation errors: `{"field": ["message", ...]}`, nested per item or '
    'sub-field (`{"rateLimit": {"count": ["..."]}}`, `{"commits": {"0": {"id": ["..."]}}}`).',
    "additionalProperties": {"$ref": "#/components/schemas/FieldError"},
}
FIELD_ERROR_SCHEMA = {
    "anyOf": [
        {"type": "string"},
        {"type": "array", "items": {"type": "string"}},
        {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/FieldError"}},
    ]
}

MIN_POSITION_HEADER = {
    "in": "header",
    "name": "X-Eventry-Min-Position",
    "required": False,
    "description": "Wait (bounded) until the views this request reads reached this log position.",
    "schema": {"type": "string", "pattern": "^[0-9]+$"},
}
MIN_POSITION_QUERY = {**MIN_POSITION_HEADER, "in": "query", "name": "min_position"}
IDEMPOTENCY_HEADER = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "description": "A repeat with the same key and request returns the first response and appends nothing.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}
POSITION = {
    "description": "The log position of the write, or the position the views read had reached.",
    "schema": {"type": "string", "pattern": "^[0-9]+$"},
}
LINK = {
    "description": 'Sentry-style pagination: `<url>; rel="previous"|"next"; results="true"|"false"; '
    'cursor="..."`.',
    "required": True,
    "schema": {"type": "string"},
}
RETRY_AFTER = {"description": "Seconds to wait before retrying.", "schema": {"type": "string"}}

ERROR_DESCRIPTIONS = {
    400: "The request is invalid; nothing changed.",
    401: "No valid credentials.",
    403: "The credentials lack every scope the route accepts (or the action is not allowed).",
    404: "The path names a missing resource, or another organization's.",
    409: "A conflict with the current state (a slug or key in use, a concurrent change); nothing changed.",
    413: "The request body is too large.",
    422: "The Idempotency-Key was used before with a different request.",
    503: "A backing service is down, or the read model did not reach the requested position in time.",
}


@dataclass(frozen=True)
class Doc:
    """One route's documentation.

    ``ok``: success status -> body (a marshmallow Schema class, a JSON schema dict, or ``None``
    for no body). ``body``: the request body (a Schema class, or a JSON schema dict).
    ``query``: a Schema class (its fields are the query parameters) or parameter dicts.
    ``reads``: honours ``X-Eventry-Min-Position``; ``writes``: a command (``Idempotency-Key``,
    409, 422). ``errors``: statuses particular to the route; ``bad_request``: the 400 shapes.
    """

    summary: str
    ok: dict[int, Any]
    body: Any = None
    media: str = JSON
    query: Any = ()
    reads: bool = False
    writes: bool = False
    errors: tuple[int, ...] = ()
    bad_request: tuple[str, ...] = (DETAIL,)
    auth: str = BEARER
    paginated: bool = False
    description: str = ""
    ok_media: str = JSON
    tags: tuple[str, ...] = field(default=())


class Undocumented(LookupError):
    """A route the registry has no entry for."""


def operations(app: Flask) -> list[tuple[str, str, str]]:
    """``(path, method, endpoint)`` of every route the app registers, in OpenAPI path form."""
    found = []
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - IGNORED_METHODS):
            found.append((openapi_path(rule.rule), method.lower(), rule.endpoint))
    return sorted(found)


def openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def undocumented(app: Flask) -> list[str]:
    from api.openapi_docs import DOCS

    return [
        f"{method.upper()} {path} ({endpoint})"
        for path, method, endpoint in operations(app)
        if endpoint not in DOCS
    ]


def build(app: Flask) -> dict[str, Any]:
    """The document; raises ``Undocumented`` naming every route without an entry."""
    from api.openapi_docs import DOCS, FIELD_SCHEMAS

    missing = undocumented(app)
    if missing:
        raise Undocumented("routes without an OpenAPI entry in api/openapi_docs.py: " + ", ".join(missing))
    plugin = MarshmallowPlugin(schema_name_resolver=schema_name)
    spec = APISpec(
        title=TITLE,
        version=VERSION,
        openapi_version=OPENAPI_VERSION,
        plugins=[plugin],
        info={
            "description": "eventry's HTTP API: Sentry's routes, fields, status codes and messages, "
            "served from an event-sourced log. See docs/api.md."
        },
    )
    _register_fields(plugin, FIELD_SCHEMAS)
    _register_components(spec)
    by_path: dict[str, dict[str, Any]] = {}
    for path, method, endpoint in operations(app):
        scopes = getattr(app.view_functions[endpoint], "required_scopes", None)
        operation = _operation(path, endpoint, DOCS[endpoint], scopes)
        by_path.setdefault(path, {})[method] = _resolve(operation, plugin)
    for path, ops in by_path.items():
        spec.path(path=path, operations=ops)
    document = spec.to_dict()
    _query_values_are_strings(document)
    return document


def _query_values_are_strings(document: dict[str, Any]) -> None:
    """A query parameter is absent or a string, never ``null``: drop the ``null`` that a
    nullable marshmallow field (``load_default=None``) documents."""
    for item in document["paths"].values():
        for op in item.values():
            for param in op["parameters"]:
                schema = param.get("schema", {})
                if param["in"] == "query" and isinstance(schema.get("type"), list):
                    schema["type"] = [t for t in schema["type"] if t != "null"]
                    schema["type"] = schema["type"][0] if len(schema["type"]) == 1 else schema["type"]
                if param["in"] == "query" and schema.get("default", 0) is None:
                    del schema["default"]


def schema_name(schema: Any) -> str:
    """Response schemas by their name; request schemas (``FooSchema``) as ``FooRequest``, so a
    request and a response of one resource never collide."""
    cls = resolve_schema_cls(schema)
    assert isinstance(cls, type)
    if getattr(response_schemas, cls.__name__, None) is cls:
        return str(cls.__name__)
    return str(cls.__name__).removesuffix("Schema").removesuffix("Request") + "Request"


def _resolve(value: Any, plugin: MarshmallowPlugin) -> Any:
    """A copy with every marshmallow Schema class replaced by its ``$ref`` (apispec itself looks
    only in some places, and changes the dicts it is given in place). Query parameter
    schemas stay classes: apispec expands them into one parameter per field."""
    if isinstance(value, type) and issubclass(value, Schema):
        assert plugin.converter is not None
        return plugin.converter.resolve_nested_schema(value)
    if isinstance(value, dict):
        if value.get("in") == "query" and "name" not in value:
            return dict(value)
        return {k: _resolve(v, plugin) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_resolve(v, plugin) for v in value]
    return value


def _register_components(spec: APISpec) -> None:
    for name, scheme in SECURITY_SCHEMES.items():
        spec.components.security_scheme(name, scheme)
    spec.components.schema(DETAIL, schema=response_schemas.Detail)
    spec.components.schema(UPLOAD, schema=response_schemas.UploadError)
    spec.components.schema("FieldError", FIELD_ERROR_SCHEMA)
    spec.components.schema(FIELDS, FIELD_ERRORS_SCHEMA)


def _register_fields(plugin: MarshmallowPlugin, field_schemas: dict[type, dict[str, Any]]) -> None:
    """The DRF-like fields of ``api/drf.py`` and the routes' custom fields, as JSON schema."""
    converter = plugin.converter
    assert converter is not None
    mapped: tuple[tuple[type, str | None], ...] = (
        (drf.Boolean, "boolean"),
        (drf.Integer, "integer"),
        (drf.Float, "number"),
        (drf.String, "string"),
        (drf.Dict, "object"),
        (drf.Choice, None),
    )
    for field_type, type_ in mapped:
        converter.map_to_openapi_type(field_type, type_, None)
    for field_type in field_schemas:
        converter.map_to_openapi_type(field_type, None, None)

    def drf_attributes(self: Any, fld: Any, ret: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if isinstance(fld, drf.Integer | drf.Float):
            out.update(
                {k: v for k, v in (("minimum", fld.minimum), ("maximum", fld.maximum)) if v is not None}
            )
        if isinstance(fld, drf.String):
            if fld.max_length is not None:
                out["maxLength"] = fld.max_length
            if not fld.allow_blank:
                out["minLength"] = 1
        if isinstance(fld, drf.Choice):
            out["enum"] = [*fld.choices, *([None] if fld.allow_none else [])]
        for field_type, schema in field_schemas.items():
            if isinstance(fld, field_type):
                out.update(schema)
                types = [schema["type"]] if isinstance(schema.get("type"), str) else schema.get("type")
                if getattr(fld, "allow_none", False) and types and "null" not in types:
                    out["type"] = [*types, "null"]
        return out

    converter.add_attribute_function(drf_attributes)


def _operation(path: str, endpoint: str, doc: Doc, scopes: tuple[str, ...] | None) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": endpoint,
        "summary": doc.summary,
        "tags": list(doc.tags) or [endpoint.split(".")[0]],
        "parameters": _parameters(path, doc),
        "responses": _responses(path, doc, scopes),
    }
    description = [doc.description] if doc.description else []
    if doc.auth == BEARER:
        if not scopes:
            raise Undocumented(f"{endpoint} declares no scopes: decorate it with @requires(...)")
        op["security"] = [{"bearerAuth": [scope]} for scope in scopes]
        op["x-scopes"] = list(scopes)
        description.append("Scopes (any one): " + ", ".join(f"`{s}`" for s in scopes) + ".")
    elif doc.auth == RELAY:
        op["security"] = RELAY_SECURITY
    elif doc.auth == OPTIONAL_BEARER:
        op["security"] = [{}, {"bearerAuth": []}]
    else:
        op["security"] = []
    if description:
        op["description"] = "\n\n".join(description)
    if doc.body is not None:
        op["requestBody"] = {"required": True, "content": {doc.media: {"schema": doc.body}}}
    return op


def path_parameters(path: str) -> list[str]:
    return re.findall(r"{([^{}]+)}", path)


def _parameters(path: str, doc: Doc) -> list[Any]:
    params: list[Any] = [
        {
            "in": "path",
            "name": name,
            "required": True,
            "schema": {"type": "string", "minLength": 1, "pattern": "^[^/]+$"},
        }
        for name in path_parameters(path)
    ]
    if isinstance(doc.query, type) and issubclass(doc.query, Schema):
        params.append({"in": "query", "schema": doc.query})
    else:
        params.extend(doc.query)
    if doc.reads:
        params += [MIN_POSITION_HEADER, MIN_POSITION_QUERY]
    if doc.writes:
        params.append(IDEMPOTENCY_HEADER)
    return params


def _error_statuses(path: str, doc: Doc, scopes: tuple[str, ...] | None) -> set[int]:
    statuses = {400, 503, *doc.errors}  # 400: a NUL character anywhere (context.refuse_null_characters)
    if doc.auth in (BEARER, OPTIONAL_BEARER):
        statuses.add(401)
    if doc.auth == BEARER and "org_slug" in path_parameters(path):
        statuses.add(404)
    if scopes:
        statuses.add(403)
    if doc.writes:
        statuses |= {400, 409, 422}
    return statuses


def _content(schema: Any, media: str = JSON) -> dict[str, Any]:
    return {media: {"schema": schema}}


def _bad_request_schema(shapes: tuple[str, ...]) -> dict[str, Any]:
    refs = [{"$ref": f"#/components/schemas/{shape}"} for shape in shapes]
    return refs[0] if len(refs) == 1 else {"anyOf": refs}


def _responses(path: str, doc: Doc, scopes: tuple[str, ...] | None) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, body in doc.ok.items():
        response: dict[str, Any] = {"description": "Success."}
        if body is not None:
            response["content"] = _content(body, doc.ok_media)
        headers: dict[str, Any] = {}
        if doc.reads or doc.writes:
            headers["X-Eventry-Position"] = POSITION
        if doc.paginated:
            headers["Link"] = LINK
        if headers:
            response["headers"] = headers
        responses[str(status)] = response
    for status in sorted(_error_statuses(path, doc, scopes)):
        if str(status) in responses:
            continue
        shapes = (*doc.bad_request, *((DETAIL,) if DETAIL not in doc.bad_request else ()))
        schema = _bad_request_schema(shapes) if status == 400 else {"$ref": f"#/components/schemas/{DETAIL}"}
        error: dict[str, Any] = {"description": ERROR_DESCRIPTIONS[status], "content": _content(schema)}
        if status == 503:
            error["headers"] = {"Retry-After": RETRY_AFTER}
        responses[str(status)] = error
    return responses


def routes_markdown(document: dict[str, Any]) -> str:
    """docs/api.md's route index: every operation, its summary and the scopes it accepts."""
    lines = ["| route | what | auth (any one scope) |", "|---|---|---|"]
    for path in sorted(document["paths"]):
        for method, op in sorted(document["paths"][path].items()):
            if "x-scopes" in op:
                auth = " ".join(f"`{s}`" for s in op["x-scopes"])
            elif op["security"] == RELAY_SECURITY:
                auth = "relay signature"
            elif op["security"]:
                auth = "optional bearer token"
            else:
                auth = "none"
            lines.append(f"| `{method.upper()} {path}` | {op['summary']} | {auth} |")
    return "\n".join(lines) + "\n"
