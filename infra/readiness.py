"""Whether a deployment can serve trustworthy reads (``/readyz``): the reasons it cannot, or none.

Ready means: the event store answers and is migrated, every view exists in its current version
and has no parked events, Redis answers, no view lags the log by more than
``EVENTRY_READY_MAX_LAG`` events, and a projection worker finished a cycle within
``EVENTRY_READY_MAX_HEARTBEAT_AGE`` seconds. A failing probe is a reason, never an error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from infra.bootstrap import Services
from infra.preflight import not_migrated

T = TypeVar("T")


def reasons(svc: Services) -> list[str]:
    found: list[str] = []
    head = _probe("the event store", svc.store.head, found)
    views = _probe("the views", svc.engine.readiness, found)
    found += views or []
    if _probe("Redis", svc.redis.ping, found) is not None:
        found += _heartbeat(svc)
    if head is not None and views == []:
        found += _lag(svc)
    return found


def _lag(svc: Services) -> list[str]:
    limit = svc.settings.ready_max_lag
    statuses = _probe("the views", svc.engine.status, []) or []
    return [
        f"view {s.name} is {s.lag} events behind the log (EVENTRY_READY_MAX_LAG is {limit})"
        for s in statuses
        if s.lag > limit
    ]


def _heartbeat(svc: Services) -> list[str]:
    limit = svc.settings.ready_max_heartbeat_age
    age = _probe("Redis", svc.heartbeat.age, [])
    if age is None:
        return ["no projection worker has reported: is `eventry worker` running?"]
    if age > limit:
        return [
            f"the projection worker last reported {age:.0f} s ago "
            f"(EVENTRY_READY_MAX_HEARTBEAT_AGE is {limit:g}): is `eventry worker` running?"
        ]
    return []


def _probe(what: str, probe: Callable[[], T], found: list[str]) -> T | None:
    """PROBE's answer; None, with a reason in FOUND, when it fails (missing tables included)."""
    try:
        return probe()
    except Exception as exc:
        if not_migrated(exc):
            found.append(f"{what}: not migrated: run `eventry migrate`")
        else:
            found.append(f"{what}: unavailable ({type(exc).__name__})")
        return None
