"""When tokens were last used: in Redis, at most one write a minute per token and process."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import redis as redis_lib

from infra.token_usage import TokenUsage

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_uses_within_the_throttle_write_once(redis_url: str) -> None:
    client = redis_lib.Redis.from_url(redis_url)
    ticks = [0.0]
    usage = TokenUsage(client, f"test-{secrets.token_hex(4)}", throttle=60, clock=lambda: ticks[0])
    try:
        usage.touch(1, T0)
        ticks[0] = 59
        usage.touch(1, T0 + timedelta(seconds=59))  # throttled: not written
        usage.touch(2, T0 + timedelta(seconds=59))  # another token is not
        assert usage.last_used([1, 2, 3]) == {1: T0.isoformat(), 2: (T0 + timedelta(seconds=59)).isoformat()}
        ticks[0] = 60
        usage.touch(1, T0 + timedelta(seconds=60))
        assert usage.last_used([1])[1] == (T0 + timedelta(seconds=60)).isoformat()
        assert usage.last_used([]) == {}
    finally:
        client.delete(usage.key)
        client.close()


def test_a_redis_that_does_not_answer_costs_the_request_nothing() -> None:
    down = redis_lib.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    usage = TokenUsage(down, "down")
    usage.touch(1)  # no exception: the use is simply not recorded
    assert usage._written == {}  # and is tried again on the next request
