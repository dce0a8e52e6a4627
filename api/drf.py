"""Marshmallow fields that accept and refuse what Django REST framework's fields do, with its
messages, so request validation answers exactly like Sentry's serializers."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import ValidationError, fields

NULL = "This field may not be null."
_TRUE = {"t", "T", "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "1", 1}
_FALSE = {"f", "F", "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", "0", 0}
_DECIMAL = re.compile(r"\.0*\s*$")
# The signed 64-bit range of every integer column (PostgreSQL bigint, SQLite INTEGER): an
# integer field without bounds of its own stays inside it, so no accepted value overflows one.
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1


def _kwargs(allow_none: bool, kwargs: dict[str, Any]) -> dict[str, Any]:
    messages = {"null": NULL, "required": "This field is required."}
    return {
        "allow_none": allow_none,
        **kwargs,
        "error_messages": {**messages, **kwargs.get("error_messages", {})},
    }


class Boolean(fields.Field):
    def __init__(self, allow_none: bool = False, **kwargs: Any) -> None:
        super().__init__(**_kwargs(allow_none, kwargs))

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        try:
            if value in _TRUE:
                return True
            if value in _FALSE:
                return False
        except TypeError:  # unhashable: a list or an object
            pass
        raise ValidationError("Must be a valid boolean.")


def _bounds(value: float, minimum: float | None, maximum: float | None) -> None:
    if minimum is not None and value < minimum:
        raise ValidationError(f"Ensure this value is greater than or equal to {minimum}.")
    if maximum is not None and value > maximum:
        raise ValidationError(f"Ensure this value is less than or equal to {maximum}.")


class Integer(fields.Field):
    def __init__(
        self, minimum: int | None = None, maximum: int | None = None, allow_none: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(**_kwargs(allow_none, kwargs))
        self.minimum = BIGINT_MIN if minimum is None else minimum
        self.maximum = BIGINT_MAX if maximum is None else maximum

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or (isinstance(value, str) and len(value) > 1000):
            raise ValidationError("A valid integer is required.")
        try:
            number = int(_DECIMAL.sub("", str(value)))
        except (TypeError, ValueError):
            raise ValidationError("A valid integer is required.") from None
        _bounds(number, self.minimum, self.maximum)
        return number


class Float(fields.Field):
    def __init__(
        self,
        minimum: float | None = None,
        maximum: float | None = None,
        allow_none: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**_kwargs(allow_none, kwargs))
        self.minimum, self.maximum = minimum, maximum

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> float:
        if isinstance(value, list | dict) or (isinstance(value, str) and len(value) > 1000):
            raise ValidationError("A valid number is required.")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValidationError("A valid number is required.") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise ValidationError("A valid number is required.")
        _bounds(number, self.minimum, self.maximum)
        return number


class String(fields.Field):
    """``CharField``: strings and numbers, stripped; blank refused unless allowed."""

    def __init__(
        self,
        max_length: int | None = None,
        allow_blank: bool = False,
        allow_none: bool = False,
        trim: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**_kwargs(allow_none, kwargs))
        self.max_length, self.allow_blank, self.trim = max_length, allow_blank, trim

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValidationError("Not a valid string.")
        text = str(value).strip() if self.trim else str(value)
        if not text:
            if self.allow_blank:
                return ""
            raise ValidationError("This field may not be blank.")
        if self.max_length is not None and len(text) > self.max_length:
            raise ValidationError(f"Ensure this field has no more than {self.max_length} characters.")
        return text


class Choice(fields.Field):
    def __init__(self, choices: tuple[Any, ...], allow_none: bool = False, **kwargs: Any) -> None:
        super().__init__(**_kwargs(allow_none, kwargs))
        self.choices = choices

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        for choice in self.choices:
            if str(choice) == str(value) and not isinstance(value, list | dict):
                return choice
        raise ValidationError(f'"{value}" is not a valid choice.')


class List(fields.List):
    """``ListField``: a list (not a string or an object); errors per index."""

    def __init__(self, child: fields.Field, allow_none: bool = False, **kwargs: Any) -> None:
        super().__init__(child, **_kwargs(allow_none, kwargs))

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> list[Any]:
        if not isinstance(value, list):
            raise ValidationError(f'Expected a list of items but got type "{type(value).__name__}".')
        return super()._deserialize(value, attr, data, **kwargs)


class Dict(fields.Field):
    def __init__(self, allow_none: bool = False, **kwargs: Any) -> None:
        super().__init__(**_kwargs(allow_none, kwargs))

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise ValidationError(f'Expected a dictionary of items but got type "{type(value).__name__}".')
        return value
