"""Project and project key requests: Sentry's ``ProjectPostSerializer``,
``ProjectAdminSerializer`` (name, slug, platform, options) and ``ProjectKeySerializer`` fields."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validates

from api import drf
from commands.organizations import PROJECT_SLUG_INVALID
from commands.platforms import CONSOLES, is_valid_platform
from commands.slugs import MIXED_SLUG_PATTERN, PROJECT_SLUG_MAX_LENGTH, RESERVED_PROJECT_SLUGS

KEY_PATTERN = re.compile(r"^[a-f0-9]{32}$")
MAX_RATE_LIMIT_WINDOW = 60 * 60 * 24


def _slug(value: str) -> None:
    if not MIXED_SLUG_PATTERN.match(value):
        raise ValidationError(PROJECT_SLUG_INVALID)


def platform_error(platform: str | None, organization_options: dict[str, Any]) -> str | None:
    """``ProjectPostSerializer.validate_platform``: a known platform; a console only when the
    organization enabled it."""
    if not is_valid_platform(platform):
        return "Invalid platform"
    if platform in CONSOLES and platform not in (
        organization_options.get("sentry:enabled_console_platforms") or []
    ):
        return f"Console platform '{platform}' is not enabled for this organization"
    return None


class ProjectCreateSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    name = drf.String(max_length=50, required=True)
    slug = drf.String(max_length=PROJECT_SLUG_MAX_LENGTH, allow_none=True, validate=_slug)
    platform = drf.String(allow_blank=True, allow_none=True)
    default_rules = drf.Boolean()

    @validates("name")
    def _name(self, value: str, **kwargs: Any) -> None:
        if value in RESERVED_PROJECT_SLUGS:
            raise ValidationError(f'The name "{value}" is reserved and not allowed.')


class ProjectOptions(drf.Dict):
    """``options``: free keys, except those Sentry converts when it stores them
    (``project_details.py``: ``int(options["sentry:resolve_age"])``); a value that does not
    convert is a field error here, not a stored option every later read fails on."""

    TYPED = {"sentry:resolve_age": drf.Integer()}

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> dict[str, Any]:
        options = dict(super()._deserialize(value, attr, data, **kwargs))
        errors: dict[str, list[str]] = {}
        for key, field in self.TYPED.items():
            if options.get(key) is not None:
                try:
                    options[key] = field.deserialize(options[key])
                except ValidationError as exc:
                    errors[key] = (
                        list(exc.messages) if isinstance(exc.messages, list) else [str(exc.messages)]
                    )
        if errors:
            raise ValidationError(errors)
        return options


class ProjectUpdateSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    name = drf.String(max_length=200)
    slug = drf.String(max_length=PROJECT_SLUG_MAX_LENGTH, validate=_slug)
    platform = drf.String(allow_blank=True, allow_none=True)
    options = ProjectOptions()

    @validates("platform")
    def _platform(self, value: str | None, **kwargs: Any) -> None:
        if not is_valid_platform(value):
            raise ValidationError("Invalid platform")


class RateLimit(fields.Field):
    """The nested ``RateLimitSerializer`` (``EmptyIntegerField``s: ``""`` is ``None``);
    loads to ``(count, window)``."""

    COUNT = drf.Integer(minimum=0, allow_none=True)
    WINDOW = drf.Integer(minimum=0, maximum=MAX_RATE_LIMIT_WINDOW, allow_none=True)

    def __init__(self) -> None:
        super().__init__(allow_none=True)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> tuple[int | None, int | None]:
        if not isinstance(value, dict):
            raise ValidationError(
                {
                    "non_field_errors": [
                        f"Invalid data. Expected a dictionary, but got {type(value).__name__}."
                    ]
                }
            )
        loaded: dict[str, int | None] = {}
        errors: dict[str, list[str]] = {}
        for name, field in (("count", self.COUNT), ("window", self.WINDOW)):
            raw = value.get(name)
            try:
                loaded[name] = None if raw in (None, "") else field.deserialize(raw)
            except ValidationError as exc:
                errors[name] = list(exc.messages) if isinstance(exc.messages, list) else [str(exc.messages)]
        if errors:
            raise ValidationError(errors)
        return loaded["count"], loaded["window"]


def _key(value: str | None) -> None:
    if value is not None and not KEY_PATTERN.match(value):
        raise ValidationError("This value does not match the required pattern.")


class KeyCreateSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    name = drf.String(max_length=64, allow_blank=True, allow_none=True)
    public = drf.String(allow_none=True, validate=_key)
    secret = drf.String(allow_none=True, validate=_key)
    rateLimit = RateLimit()
    isActive = drf.Boolean()
    browserSdkVersion = drf.Choice(("latest", "7.x"))


class KeyUpdateSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    name = drf.String(max_length=64, allow_blank=True)
    isActive = drf.Boolean()
    rateLimit = RateLimit()
    browserSdkVersion = drf.Choice(("latest", "7.x"))
