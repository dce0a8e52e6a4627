"""Sentry's snowflake ids: 53 bits of version, seconds since the epoch, region and sequence.

The per-second sequence comes from Redis (``INCR`` of the region's key for that second); when a
second's 16 ids are used up, earlier seconds are tried, up to five minutes back. Sentry keeps one
Redis cluster per region; eventry may share one Redis between regions, so the key names the
region and each region has its own sequence (ids stay unique: the region is part of the id).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

VERSION_BITS, TIME_BITS, REGION_BITS, SEQUENCE_BITS = 5, 32, 12, 4
MAX_AVAILABLE_REGION_SEQUENCES = 1 << SEQUENCE_BITS
TTL_SECONDS = 300
SNOWFLAKE_VERSION_ID = 1
EPOCH_START = datetime(2022, 8, 8, 0, 0).timestamp()
MAX_SAVE_ATTEMPTS = 5
MAX_RETRY_DETAIL = "Max allowed ID retry reached. Please try again in a second"


class SnowflakeError(Exception):
    pass


def msb_0_ordering(value: int, width: int) -> int:
    return int(format(value, f"0{width}b")[::-1], 2)


def validate_bits(name: str, length: int, value: int) -> None:
    if length <= 0:
        raise SnowflakeError("The length should be a positive number")
    if value > 2**length - 1:
        raise SnowflakeError(f"{name} exceed max bit value of {length}")


def compose(time_difference: int, region_id: int, sequence: int) -> int:
    validate_bits("TIME_DIFFERENCE", TIME_BITS, time_difference)
    validate_bits("REGION_ID", REGION_BITS, region_id)
    validate_bits("REGION_SEQUENCE", SEQUENCE_BITS, sequence)
    version = msb_0_ordering(SNOWFLAKE_VERSION_ID, VERSION_BITS)
    shift = TIME_BITS + REGION_BITS + SEQUENCE_BITS
    return (
        (version << shift)
        | (time_difference << (REGION_BITS + SEQUENCE_BITS))
        | (region_id << SEQUENCE_BITS)
        | sequence
    )


def counter_key(region_id: int, timestamp: int) -> str:
    return f"snowflake:{region_id}:{timestamp}"


def sequence_value(redis: Any, region_id: int, starting_timestamp: int) -> tuple[int, int]:
    """``get_sequence_value_from_redis``. As in Sentry the counter is per second, shared by
    every model (``redis_key`` only picks the cluster there), so ids are unique per region."""
    for i in range(TTL_SECONDS):
        timestamp = starting_timestamp - i
        key = counter_key(region_id, timestamp)
        value = int(redis.incr(key)) - 1
        if value == 0:
            redis.expire(key, TTL_SECONDS)
        if value < MAX_AVAILABLE_REGION_SEQUENCES:
            return timestamp, value
    raise SnowflakeError("No available ID")


class SnowflakeGenerator:
    def __init__(
        self,
        redis: Any,
        region_id: int = 0,
        clock: Callable[[], float] = time.time,
        epoch: float = EPOCH_START,
    ) -> None:
        validate_bits("REGION_ID", REGION_BITS, region_id)
        self.redis = redis
        self.region_id = region_id
        self.clock = clock
        self.epoch = epoch

    def __call__(self, redis_key: str) -> int:
        current = int(self.clock() - self.epoch)
        timestamp, sequence = sequence_value(self.redis, self.region_id, current)
        return compose(timestamp, self.region_id, sequence)
