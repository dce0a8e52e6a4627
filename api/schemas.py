"""Request schemas at the edge, with Sentry's messages."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from api.errors import ApiError
from commands.metrics import INVALID_MRI, NO_TAGS
from projections.audit_log import MAX_ACTOR_ID

OPERATIONS = ["blockMetric", "blockTags", "unblockMetric", "unblockTags"]
INVALID_OPERATION = f"You must supply a valid operation, which must be one of {OPERATIONS}"
DRF_DATETIME = (
    "Datetime has wrong format. Use one of these formats instead: "
    "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
)


class MetricVisibilitySchema(Schema):
    class Meta:
        unknown = EXCLUDE  # the frontend also sends `project`; Sentry ignores it

    operationType = fields.String(
        required=True,
        validate=validate.OneOf(OPERATIONS, error=INVALID_OPERATION),
        error_messages={
            "required": INVALID_OPERATION,
            "null": INVALID_OPERATION,
            "invalid": INVALID_OPERATION,
        },
    )
    metricMri = fields.String(
        required=True,
        error_messages={"required": INVALID_MRI, "null": INVALID_MRI, "invalid": INVALID_MRI},
    )
    tags = fields.List(
        fields.String(
            error_messages={
                "invalid": "Every tag must be a string",
                "null": "Every tag must be a string",
            }
        ),
        load_default=None,
        allow_none=True,
        error_messages={"invalid": NO_TAGS},
    )


class AuditQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    event = fields.String(load_default=None)
    actor = fields.Integer(
        load_default=None,
        strict=False,
        validate=[  # as Sentry's serializer bounds it (max_value), and below as the column does
            validate.Range(max=MAX_ACTOR_ID, error="Ensure this value is less than or equal to {max}."),
            validate.Range(
                min=-MAX_ACTOR_ID - 1, error="Ensure this value is greater than or equal to {min}."
            ),
        ],
        error_messages={"invalid": "A valid integer is required."},
    )
    start = fields.AwareDateTime(
        load_default=None, default_timezone=UTC, error_messages={"invalid": DRF_DATETIME}
    )
    end = fields.AwareDateTime(
        load_default=None, default_timezone=UTC, error_messages={"invalid": DRF_DATETIME}
    )
    statsPeriod = fields.String(load_default=None)
    cursor = fields.String(load_default=None)
    per_page = fields.Integer(
        load_default=100,
        validate=validate.Range(min=1, max=100),
        error_messages={"invalid": "A valid integer is required."},
    )


def load_detail(schema: Schema, data: Any, order: list[str]) -> dict[str, Any]:
    """Load ``data``; on failure answer 400 ``{"detail": ...}`` with the first field's message."""
    if not isinstance(data, dict):
        raise ApiError(400, {"detail": "The request body must be a JSON object"})
    try:
        return dict(schema.load(data))
    except ValidationError as exc:
        messages = exc.normalized_messages()
        for name in [*order, *messages]:
            if name in messages:
                raise ApiError(400, {"detail": _first(messages[name])}) from None
        raise


def load_fields(schema: Schema, data: Any) -> dict[str, Any]:
    """Load ``data``; on failure answer 400 with DRF-style ``{"field": ["message"]}``."""
    valid, errors = load_with_errors(schema, data)
    if errors:
        raise ApiError(400, errors)
    return valid


def load_with_errors(schema: Schema, data: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields that loaded and DRF-style errors of the others, for routes that add checks
    of their own to the fields that passed (as a serializer's ``validate_<field>`` does)."""
    if not isinstance(data, dict):
        raise ApiError(400, {"non_field_errors": ["Invalid data. Expected a dictionary."]})
    try:
        return dict(schema.load(data)), {}
    except ValidationError as exc:
        valid = dict(exc.valid_data) if isinstance(exc.valid_data, dict) else {}
        return valid, {k: _as_list(v) for k, v in exc.normalized_messages().items()}


def _first(message: Any) -> str:
    while isinstance(message, list | dict):
        message = next(iter(message.values() if isinstance(message, dict) else message), "Invalid value")
    return str(message)


def _as_list(message: Any) -> Any:
    return message if isinstance(message, list | dict) else [message]
