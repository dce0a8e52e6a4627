"""Every event of an organization, indexed by log position: what the operator console lists.

The log itself is ordered by position only, so "this organization's events, newest first" or
"this project's events up to position N" would otherwise mean reading everyone's events. One
row per event that names an organization (``organization_id``) holds where it is (stream,
version), what it is (topic), who caused it and when; its payload stays in the log.
"""

from __future__ import annotations

from dataclasses import dataclass

from events import Event, Recorded
from projections.base import Projection, View, on


@dataclass(frozen=True)
class LoggedEvent:
    position: int
    project_id: int | None
    stream: str
    version: int
    topic: str
    actor_type: str
    actor_id: int | None
    actor_label: str
    at: str


COLUMNS = "position, project_id, stream, version, topic, actor_type, actor_id, actor_label, at"


class OrgEvents(Projection):
    name = "org_events"
    tables = {
        "events": "position BIGINT PRIMARY KEY, organization_id BIGINT NOT NULL, project_id BIGINT, "
        "stream TEXT NOT NULL, version INTEGER NOT NULL, topic TEXT NOT NULL, actor_type TEXT NOT NULL, "
        "actor_id BIGINT, actor_label TEXT NOT NULL, at TEXT NOT NULL, minute TEXT NOT NULL",
    }
    indexes = (
        "{events} (organization_id, position)",
        "{events} (organization_id, topic, position)",
        "{events} (organization_id, stream, position)",
        "{events} (organization_id, minute)",
    )

    @on(Event)
    def _event(self, view: View, rec: Recorded) -> None:
        organization_id = getattr(rec.event, "organization_id", None)
        if not isinstance(organization_id, int):  # relays, registries, idempotency markers: no tenant
            return
        at = rec.stamp
        view.write(
            "INSERT INTO {events} (position, organization_id, project_id, stream, version, topic, "
            "actor_type, actor_id, actor_label, at, minute) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                rec.position,
                organization_id,
                getattr(rec.event, "project_id", None),
                str(rec.stream),
                rec.version,
                rec.event.TOPIC,
                rec.meta.actor_type,
                rec.meta.actor_id,
                rec.meta.actor_label[:200],
                at,
                at[:16],  # YYYY-MM-DDTHH:MM, UTC: the chart's bucket
            ),
        )


@dataclass(frozen=True)
class EventQuery:
    organization_id: int
    topic: str | None = None
    stream: str | None = None
    before: int | None = None  # positions below this one (the next page)
    limit: int = 50


def page(view: View, q: EventQuery) -> list[LoggedEvent]:
    """The organization's events, newest first."""
    where: list[str] = ["organization_id = %s"]
    params: list[str | int] = [q.organization_id]
    for clause, value in (("topic = %s", q.topic), ("stream = %s", q.stream), ("position < %s", q.before)):
        if value is not None:
            where.append(clause)
            params.append(value)
    rows = view.execute(
        f"SELECT {COLUMNS} FROM {{events}} WHERE {' AND '.join(where)} ORDER BY position DESC LIMIT %s",
        (*params, q.limit),
    )
    return [LoggedEvent(*row) for row in rows]


def topics(view: View, organization_id: int) -> list[str]:
    rows = view.execute(
        "SELECT DISTINCT topic FROM {events} WHERE organization_id = %s ORDER BY topic", (organization_id,)
    )
    return [r[0] for r in rows]


def project_history(view: View, organization_id: int, project_id: int, org_stream: str) -> list[LoggedEvent]:
    """Everything a project's settings and relay config fold from, oldest first: the events
    naming the project (its own stream, its keys) and those of its organization's stream."""
    rows = view.execute(
        f"SELECT {COLUMNS} FROM {{events}} WHERE organization_id = %s AND (project_id = %s OR stream = %s) "
        "ORDER BY position",
        (organization_id, project_id, org_stream),
    )
    return [LoggedEvent(*row) for row in rows]


def per_minute(view: View, organization_id: int, since_minute: str) -> list[tuple[str, str, int]]:
    """``(minute, topic, events)`` from ``since_minute`` (``YYYY-MM-DDTHH:MM``) on, oldest first."""
    rows = view.execute(
        "SELECT minute, topic, COUNT(*) FROM {events} WHERE organization_id = %s AND minute >= %s "
        "GROUP BY minute, topic ORDER BY minute, topic",
        (organization_id, since_minute),
    )
    return [(r[0], r[1], int(r[2])) for r in rows]
