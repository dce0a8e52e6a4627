"""Response bodies as marshmallow schemas: the base class and the field helpers.

The routes build their bodies as dicts (``api/*_render.py``, the route modules) and declare
them with ``@bp.response(status, Schema)`` for the OpenAPI document only (a view returns a
``Response``, which flask-smorest passes through). A schema describes exactly what its route
returns: every field listed is always present unless marked ``optional``, ``null`` marks the
fields that may be ``null``, and no other field appears (``unknown = RAISE`` becomes
``additionalProperties: false``). Values a client stored (project options, audit data) are
``Raw``: any JSON value. The schemas live beside the resource they describe.
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, fields, validate


class Body(Schema):
    """A response body; the document names it after its class (request schemas get ``Request``)."""

    class Meta:
        unknown = RAISE


def _kw(optional: bool, null: bool, **kwargs: Any) -> dict[str, Any]:
    return {"required": not optional, "allow_none": null, **kwargs}


def Str(
    *, optional: bool = False, null: bool = False, enum: list[str] | None = None, **kw: Any
) -> fields.Field:
    validators = [validate.OneOf(enum)] if enum else []
    return fields.String(validate=validators, **_kw(optional, null, **kw))


def Time(*, optional: bool = False, null: bool = False) -> fields.Field:
    """An ISO 8601 datetime in UTC (``…Z``)."""
    return fields.String(metadata={"format": "date-time"}, **_kw(optional, null))


def Int(*, optional: bool = False, null: bool = False) -> fields.Field:
    return fields.Integer(strict=True, **_kw(optional, null))


def Num(*, optional: bool = False, null: bool = False) -> fields.Field:
    return fields.Float(**_kw(optional, null))


def Bool(*, optional: bool = False, null: bool = False) -> fields.Field:
    return fields.Boolean(**_kw(optional, null))


def Any_(*, optional: bool = False, description: str | None = None) -> fields.Field:
    """Any JSON value, ``null`` included."""
    return fields.Raw(metadata={"description": description} if description else {}, **_kw(optional, True))


def Obj(schema: type[Schema], *, optional: bool = False, null: bool = False) -> fields.Field:
    return fields.Nested(schema, **_kw(optional, null))


def Map(values: fields.Field | None = None, *, optional: bool = False, **kw: Any) -> fields.Field:
    """A JSON object with free keys."""
    values = values or fields.Raw(allow_none=True)
    return fields.Dict(keys=fields.String(), values=values, **_kw(optional, False, **kw))


def ListOf(item: fields.Field | type[Schema], *, optional: bool = False, null: bool = False) -> fields.Field:
    child = fields.Nested(item) if isinstance(item, type) else item
    return fields.List(child, **_kw(optional, null))


def Null() -> fields.Field:
    """Always ``null`` here (Sentry has a value; this server has no source for it)."""
    return fields.Raw(required=True, metadata={"type": "null"})


def strings() -> fields.Field:
    return fields.String()


# The stored options of a project or an organization, as the options routes return them.
STORED_OPTIONS = {"type": "object", "additionalProperties": True, "description": "option key -> stored value"}
