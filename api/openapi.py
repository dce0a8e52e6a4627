"""The OpenAPI 3.1 document, generated with flask-smorest from what each route declares.

A route declares its contract where it is defined, on a ``flask_smorest.Blueprint``:
``@bp.response(status, Schema)`` for each success body (documentation only: the views return
a ``Response``, which flask-smorest passes through unchanged) and, under it, ``@operation(...)``
for the summary, the request body, the query parameters and the shared contracts the route
takes part in. What every route shares is derived here, by the ``SharedContract`` apispec
plugin: the security requirements from the scopes ``@requires`` declares, the path parameters,
``X-Eventry-Min-Position`` and ``Idempotency-Key``, and the error responses with their shapes.
A route without a declaration fails the build, so none can be left out.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import flask_smorest
from apispec import APISpec, BasePlugin
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask import Flask
from marshmallow import Schema, fields
from werkzeug.routing import Rule, UnicodeConverter

from api import drf
from api.response_fields import Body, Str

TITLE = "eventry"
VERSION = "0"
OPENAPI_VERSION = "3.1.0"
IGNORED_METHODS = {"HEAD", "OPTIONS"}
NOT_API_PREFIX = "/console/"
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


DETAIL_OR_FIELDS = (DETAIL, FIELDS)
PATH_PARAMETER = {"type": "string", "minLength": 1, "pattern": "^[^/]+$"}


class Detail(Body):
    """``{"detail": "<Sentry's message>"}``."""

    detail = Str()


class UploadError(Body):
    """The chunk upload and assemble routes' 400: ``{"error": "<Sentry's message>"}``."""

    error = Str()


@dataclass(frozen=True)
class Contract:
    """What a route shares with the others, from which ``SharedContract`` derives its parts.

    ``reads``: honours ``X-Eventry-Min-Position``; ``writes``: a command (``Idempotency-Key``,
    409, 422); ``errors``: statuses particular to the route; ``bad_request``: the 400 shapes;
    ``auth``: ``BEARER`` (scopes from ``@requires``), ``RELAY``, ``OPTIONAL_BEARER`` or ``PUBLIC``;
    ``paginated``: a ``Link`` header on success.
    """

    summary: str
    reads: bool = False
    writes: bool = False
    errors: tuple[int, ...] = ()
    bad_request: tuple[str, ...] = (DETAIL,)
    auth: str = BEARER
    paginated: bool = False
    description: str = ""


RouteT = TypeVar("RouteT", bound=Callable[..., Any])


def operation(
    summary: str,
    *,
    body: Any = None,
    media: str = JSON,
    query: Any = (),
    reads: bool = False,
    writes: bool = False,
    errors: tuple[int, ...] = (),
    bad_request: tuple[str, ...] = (DETAIL,),
    auth: str = BEARER,
    paginated: bool = False,
    description: str = "",
) -> Callable[[RouteT], RouteT]:
    """Declare a route's operation, under its ``@bp.response``: ``body`` is the request body
    (the Schema class the route loads with, or a JSON schema dict; documentation only, so the
    route keeps Sentry's messages and order of checks), ``query`` a Schema class (its fields are
    the query parameters) or parameter dicts. The rest is a ``Contract``."""
    manual: dict[str, Any] = {"summary": summary}
    if body is not None:
        manual["requestBody"] = {"required": True, "content": {media: {"schema": body}}}
    if isinstance(query, type) and issubclass(query, Schema):
        manual["parameters"] = [{"in": "query", "schema": query}]
    elif query:
        manual["parameters"] = list(query)
    contract = Contract(summary, reads, writes, errors, bad_request, auth, paginated, description)

    def declare(view: RouteT) -> RouteT:
        documented: Any = flask_smorest.Blueprint.doc(**manual)(view)
        documented.contract = contract
        return documented

    return declare


class Undocumented(LookupError):
    """A route without a declaration."""


def operations(app: Flask) -> list[tuple[str, str, str]]:
    """``(path, method, endpoint)`` of every API route the app registers, in OpenAPI path form."""
    found = []
    for rule in app.url_map.iter_rules():
        if not is_api(rule.rule):
            continue
        for method in sorted((rule.methods or set()) - IGNORED_METHODS):
            found.append((openapi_path(rule.rule), method.lower(), rule.endpoint))
    return sorted(found)


def is_api(rule: str) -> bool:
    """False for the operator console's pages (HTML for people, signed in with a session
    cookie): they are not part of the API's contract."""
    return not rule.startswith(NOT_API_PREFIX)


def openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def _declared(app: Flask, endpoint: str) -> bool:
    blueprint = app.blueprints.get(endpoint.rpartition(".")[0])
    view = app.view_functions[endpoint]
    return (
        isinstance(blueprint, flask_smorest.Blueprint)
        and isinstance(getattr(view, "contract", None), Contract)
        and "response" in getattr(view, "_apidoc", {})  # where @bp.response keeps its doc
    )


def undocumented(app: Flask) -> list[str]:
    return [
        f"{method.upper()} {path} ({endpoint})"
        for path, method, endpoint in operations(app)
        if not _declared(app, endpoint)
    ]


class Document(flask_smorest.Api):
    """flask-smorest's ``Api``, built on the first request for the document (not by
    ``create_app``: building costs tens of milliseconds, and the blueprints are plain Flask ones
    to the app)."""

    DEFAULT_ERROR_RESPONSE_NAME = None  # the error responses are derived by SharedContract

    def _register_error_handlers(self) -> None:
        """None: ``api/errors.py`` answers every error with Sentry's shapes."""


def build(app: Flask) -> dict[str, Any]:
    """The document; raises ``Undocumented`` naming every route without a declaration."""
    missing = undocumented(app)
    if missing:
        raise Undocumented(
            "routes without an OpenAPI declaration (a flask_smorest Blueprint, @bp.response and "
            "@operation): " + ", ".join(missing)
        )
    marshmallow = MarshmallowPlugin(schema_name_resolver=cast(Any, schema_name))  # None: inline
    api = Document(
        app,
        spec_kwargs={
            "title": TITLE,
            "version": VERSION,
            "openapi_version": OPENAPI_VERSION,
            "marshmallow_plugin": marshmallow,
            "extra_plugins": [SharedContract(app, marshmallow)],
            "info": {
                "description": "eventry's HTTP API: Sentry's routes, fields, status codes and messages, "
                "served from an event-sourced log. See docs/api.md."
            },
        },
    )
    api.register_converter(UnicodeConverter, lambda _: dict(PATH_PARAMETER))
    _register_fields(marshmallow)
    _register_components(api.spec)
    for name, blueprint in app.blueprints.items():
        if isinstance(blueprint, flask_smorest.Blueprint):
            blueprint.register_views_in_doc(api, app, api.spec, name=name, parameters=None)
    document: dict[str, Any] = api.spec.to_dict()
    document["paths"] = dict(sorted(document["paths"].items()))
    _query_values_are_strings(document)
    return document


class SharedContract(BasePlugin):
    """An apispec plugin: completes each operation flask-smorest documents with what the
    route shares with the others (read from its ``Contract`` and its ``@requires`` scopes)."""

    def __init__(self, app: Flask, marshmallow: MarshmallowPlugin) -> None:
        self.app, self.marshmallow = app, marshmallow

    def path_helper(
        self,
        path: str | None = None,
        operations: dict[str, Any] | None = None,
        parameters: list[Any] | None = None,
        rule: Rule | None = None,
        **kwargs: Any,
    ) -> None:
        assert path is not None and operations is not None and parameters is not None and rule
        view = self.app.view_functions[rule.endpoint]
        contract, scopes = getattr(view, "contract", None), getattr(view, "required_scopes", None)
        assert isinstance(contract, Contract)
        in_path = [p for p in parameters if p["in"] == "path"]  # flask-smorest's, from the rule
        parameters[:] = [p for p in parameters if p["in"] != "path"]
        for method, declared in operations.items():
            op = _operation(path, rule.endpoint, contract, scopes, in_path, declared)
            operations[method] = _resolve(op, self.marshmallow)


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


def schema_name(schema: Any) -> str | None:
    """Response bodies (``api.response_fields.Body``) by their name; request schemas
    (``FooSchema``) as ``FooRequest``, so a request and a response of one resource never collide.
    Schemas not ours (flask-smorest's error and pagination bodies, which no route answers) get no
    component."""
    cls = resolve_schema_cls(schema)
    assert isinstance(cls, type)
    if issubclass(cls, Body):
        return str(cls.__name__)
    if not cls.__module__.startswith("api."):
        return None
    return str(cls.__name__).removesuffix("Schema").removesuffix("Request") + "Request"


def _resolve(value: Any, plugin: MarshmallowPlugin) -> Any:
    """A copy with every marshmallow Schema replaced by its ``$ref`` (apispec itself looks
    only in some places, e.g. not in ``additionalProperties``). Query parameter schemas stay
    classes: apispec expands them into one parameter per field."""
    if isinstance(value, Schema) or (isinstance(value, type) and issubclass(value, Schema)):
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
    spec.components.schema(DETAIL, schema=Detail)
    spec.components.schema(UPLOAD, schema=UploadError)
    spec.components.schema("FieldError", FIELD_ERROR_SCHEMA)
    spec.components.schema(FIELDS, FIELD_ERRORS_SCHEMA)


def _self_described_fields() -> list[type]:
    """Field classes that say how the document describes them: an ``OPENAPI`` JSON schema
    beside their loading rules (``TrustedRelayField``, ``Commits``, ...)."""
    found: list[type] = []
    todo: list[type] = [fields.Field]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if getattr(cls, "OPENAPI", None) is not None:
            found.append(cls)
    return found


def _register_fields(plugin: MarshmallowPlugin) -> None:
    """The DRF-like fields of ``api/drf.py`` and the self-described fields, as JSON schema."""
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
    for field_type in _self_described_fields():
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
        schema = getattr(fld, "OPENAPI", None)
        if schema is not None:
            out.update(schema)
            types = [schema["type"]] if isinstance(schema.get("type"), str) else schema.get("type")
            if getattr(fld, "allow_none", False) and types and "null" not in types:
                out["type"] = [*types, "null"]
        return out

    converter.add_attribute_function(drf_attributes)


def _operation(
    path: str,
    endpoint: str,
    contract: Contract,
    scopes: tuple[str, ...] | None,
    in_path: list[dict[str, Any]],
    declared: dict[str, Any],
) -> dict[str, Any]:
    """The operation flask-smorest documented (summary, tags, query, body, success
    responses), completed with the shared parts."""
    op: dict[str, Any] = {
        "operationId": endpoint,
        "summary": contract.summary,
        "tags": declared["tags"],
        "parameters": [*in_path, *declared.get("parameters", []), *_shared_parameters(contract)],
        "responses": _responses(path, contract, scopes, declared["responses"]),
    }
    description = [contract.description] if contract.description else []
    if contract.auth == BEARER:
        if not scopes:
            raise Undocumented(f"{endpoint} declares no scopes: decorate it with @requires(...)")
        op["security"] = [{"bearerAuth": [scope]} for scope in scopes]
        op["x-scopes"] = list(scopes)
        description.append("Scopes (any one): " + ", ".join(f"`{s}`" for s in scopes) + ".")
    elif contract.auth == RELAY:
        op["security"] = RELAY_SECURITY
    elif contract.auth == OPTIONAL_BEARER:
        op["security"] = [{}, {"bearerAuth": []}]
    else:
        op["security"] = []
    if description:  # the view's docstring is for readers of the code, not of the document
        op["description"] = "\n\n".join(description)
    if "requestBody" in declared:
        op["requestBody"] = declared["requestBody"]
    return op


def path_parameters(path: str) -> list[str]:
    return re.findall(r"{([^{}]+)}", path)


def _shared_parameters(contract: Contract) -> list[dict[str, Any]]:
    params = []
    if contract.reads:
        params += [MIN_POSITION_HEADER, MIN_POSITION_QUERY]
    if contract.writes:
        params.append(IDEMPOTENCY_HEADER)
    return params


def _error_statuses(path: str, contract: Contract, scopes: tuple[str, ...] | None) -> set[int]:
    statuses = {400, 503, *contract.errors}  # 400: a NUL character anywhere (screen.py)
    if contract.auth in (BEARER, OPTIONAL_BEARER):
        statuses.add(401)
    if contract.auth == BEARER and "org_slug" in path_parameters(path):
        statuses.add(404)
    if scopes:
        statuses.add(403)
    if contract.writes:
        statuses |= {400, 409, 422}
    return statuses


def _content(schema: Any, media: str = JSON) -> dict[str, Any]:
    return {media: {"schema": schema}}


def _bad_request_schema(shapes: tuple[str, ...]) -> dict[str, Any]:
    refs = [{"$ref": f"#/components/schemas/{shape}"} for shape in shapes]
    return refs[0] if len(refs) == 1 else {"anyOf": refs}


def _responses(
    path: str, contract: Contract, scopes: tuple[str, ...] | None, declared: dict[Any, Any]
) -> dict[str, Any]:
    """The declared (success) responses with their headers, then the error responses."""
    responses: dict[str, Any] = {}
    for status, declared_response in declared.items():
        response = dict(declared_response)
        headers: dict[str, Any] = {}
        if contract.reads or contract.writes:
            headers["X-Eventry-Position"] = POSITION
        if contract.paginated:
            headers["Link"] = LINK
        if headers:
            response["headers"] = headers
        responses[str(status)] = response
    for status in sorted(_error_statuses(path, contract, scopes)):
        if str(status) in responses:
            continue
        shapes = (*contract.bad_request, *((DETAIL,) if DETAIL not in contract.bad_request else ()))
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
