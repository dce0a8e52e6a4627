"""Sentry's ``statsPeriod`` (``parse_stats_period``): digits and an optional unit, seconds when
none is given; a period too long to represent is ``timedelta.max``, as Sentry's OverflowError
branch returns."""

from __future__ import annotations

import re
from datetime import timedelta

STATS_PERIOD = re.compile(r"^(\d+)([hdmsw]?)$")
UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_stats_period(text: str) -> timedelta | None:
    matched = STATS_PERIOD.match(text)
    if matched is None:
        return None
    try:
        return timedelta(seconds=int(matched[1]) * UNIT_SECONDS[matched[2]])
    except OverflowError:
        return timedelta.max
