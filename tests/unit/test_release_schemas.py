"""Commit list validation: the fast paths give what the general rules give."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from marshmallow import ValidationError

from api.release_schemas import DATETIME_INVALID, parse_datetime

DATES = ["2024-01-01", "0001-01-01", "9999-12-31", "2024-02-30", "20240101", "2024-W01-1"]
TIMES = ["T00:00:05", " 00:00:05", "T00:00", "T000005", "t00:00:05", "T23:59:59", "T00:00:05.000000",
         "T00:00:05.000005", "T00:00:05.5", "T00:00:05.123", "T00:00:05,000005"]  # fmt: skip
ZONES = ["", "Z", "z", "+00:00", "-00:00", "+0000", "+00", "+01:00", "-05:30", "+00:00:00", " Z"]


def _general(value: str) -> str:
    """What ``parse_datetime`` did before it had a fast path."""
    parsed = datetime.fromisoformat(value.strip())
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat()


@pytest.mark.parametrize("date", DATES)
def test_timestamps_are_read_as_isoformat_writes_them_back(date: str) -> None:
    """A timestamp already in ``isoformat``'s UTC text is returned as it is (``Z`` as
    ``+00:00``); every spelling gives what parsing and formatting it gives, or the error."""
    for time, zone, pad in itertools.product(TIMES, ZONES, ("", " ")):
        value = f"{pad}{date}{time}{zone}{pad}"
        try:
            expected = _general(value)
        except (ValueError, OverflowError):
            with pytest.raises(ValidationError) as refused:
                parse_datetime(value)
            assert refused.value.messages == [DATETIME_INVALID]
        else:
            assert parse_datetime(value) == expected, value
