"""Projections, fed events directly: what each view holds after a sequence of events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from events import Event, Meta, Recorded
from events.metrics import BlockedMetricsReset, MetricBlocked, MetricBlockingChanged, MetricTagsBlocked
from events.organizations import ApiTokenCreated, OrganizationCreated
from events.projects import ProjectCreated, ProjectOptionRemoved, ProjectOptionSet
from infra.db import SqliteDatabase
from projections import AuditLog, Directory, Projection, ProjectOptions, View, audit_log, directory, on
from projections import project_options as options_view

T0 = datetime(2026, 1, 1, tzinfo=UTC)
TOKEN = Meta(actor_type="token", actor_id=3, actor_label="ci", ip_address="10.0.0.1", request_id="r1")


class Feeder:
    """Applies events to one projection's tables, numbering them as the log would."""

    def __init__(self, db: SqliteDatabase, projection: Projection) -> None:
        self.db, self.projection, self.position = db, projection, 0
        self.tables = {t: f"t_{projection.name}_{t}" for t in projection.tables}
        with db.transaction() as tx:
            for statement in projection.ddl(self.tables):
                tx.execute(statement)

    def feed(self, *events: Event, meta: Meta = TOKEN) -> int:
        with self.db.transaction() as tx:
            view = View(tx, self.tables)
            for event in events:
                self.position += 1
                at = T0 + timedelta(seconds=self.position)
                self.projection.apply(view, Recorded(uuid4(), 1, event, at, meta, self.position))
        return self.position

    def read(self) -> Iterator[View]:
        with self.db.transaction(write=False) as tx:
            yield View(tx, self.tables)


BLOCKED_A = '[{"metric_mri": "c:custom/a@none", "is_blocked": true, "blocked_tags": []}]'


def test_project_options_current_and_as_of_a_position(db: SqliteDatabase) -> None:
    f = Feeder(db, ProjectOptions())
    p1 = f.feed(ProjectOptionSet(1, 9, "sentry:origins", ["*"]))
    p2 = f.feed(MetricBlocked(1, 9, "web", "c:custom/a@none", True, ()))
    p3 = f.feed(ProjectOptionRemoved(1, 9, "sentry:origins"), ProjectOptionSet(2, 9, "other", 1))
    p4 = f.feed(BlockedMetricsReset(1, 9, '"}{"'))
    for view in f.read():
        assert options_view.options(view, 1) == {}
        assert options_view.options(view, 2) == {"other": 1}
        assert options_view.options_at(view, 1, p1) == {"sentry:origins": ["*"]}
        assert options_view.options_at(view, 1, p2) == {
            "sentry:blocked_metrics": BLOCKED_A,
            "sentry:origins": ["*"],
        }
        assert options_view.options_at(view, 1, p3) == {"sentry:blocked_metrics": BLOCKED_A}
        assert options_view.options_at(view, 1, p4) == {}
        assert options_view.options_at(view, 1, 0) == {}


def test_directory_finds_by_slug_or_id(db: SqliteDatabase) -> None:
    f = Feeder(db, Directory())
    f.feed(
        OrganizationCreated(9, "acme", "Acme"),
        ProjectCreated(1, 9, "web", "Web", "python"),
        ApiTokenCreated(3, 9, "hash", "abcd", "ci", ("project:read",)),
    )
    for view in f.read():
        org = directory.find_organization(view, "ACME")
        assert org is not None and org.id == 9
        assert directory.find_organization(view, "9") == org
        assert directory.find_organization(view, "other") is None
        project = directory.find_project(view, 9, "web")
        assert project is not None and project.platform == "python" and project.status == "active"
        assert directory.find_project(view, 9, "1") == project
        assert directory.find_project(view, 8, "web") is None
        assert [t["scopes"] for t in directory.list_tokens(view, 9)] == [["project:read"]]


def test_audit_log_entries_notes_and_filters(db: SqliteDatabase) -> None:
    f = Feeder(db, AuditLog())
    f.feed(OrganizationCreated(9, "acme", "Acme"), meta=Meta(actor_type="cli", actor_label="op@host"))
    f.feed(
        MetricTagsBlocked(1, 9, "web", "c:custom/a@none", False, ("a", "b"), ("a", "b")),
        ProjectOptionSet(1, 9, "sentry:origins", ["*"]),
        ProjectCreated(2, 8, "other", "Other", None),
    )
    for view in f.read():
        rows = audit_log.query(view, audit_log.AuditQuery(organization_id=9))
        assert [r["event"] for r in rows] == ["project.edit", "metric.tags.block", "org.create"]
        tags = rows[1]
        assert tags["note"] == "blocked ['a', 'b'] tags of metric c:custom/a@none for project web"
        assert tags["data"] == {"metric_mri": "c:custom/a@none", "project_slug": "web", "tags": ["a", "b"]}
        assert tags["actor"] == {"id": "3", "name": "ci", "type": "token"}
        assert tags["ipAddress"] == "10.0.0.1" and tags["dateCreated"] == "2026-01-01T00:00:02Z"
        assert rows[2]["actor"] == {"name": "op@host"}
        assert rows[0]["note"] == "edited project settings in sentry:origins to ['*']"
        only = audit_log.query(view, audit_log.AuditQuery(9, api_name="metric.tags.block"))
        assert [r["id"] for r in only] == ["2"]
        assert audit_log.query(view, audit_log.AuditQuery(9, actor_id=3, before_id=3)) == [tags]
        assert [r["id"] for r in audit_log.query(view, audit_log.AuditQuery(9, after_id=1))] == ["2", "3"]
        since = (T0 + timedelta(seconds=2)).isoformat()
        assert len(audit_log.query(view, audit_log.AuditQuery(9, since=since))) == 2
        assert [r["event"] for r in audit_log.query(view, audit_log.AuditQuery(8))] == ["project.create"]


def test_projection_topics_cover_subclasses_of_handled_events() -> None:
    assert "metrics.MetricTagsUnblocked.v1" in ProjectOptions.topics()
    assert "metrics.MetricBlocked.v1" in AuditLog.topics()
    assert "organizations.ApiTokenCreated.v1" in AuditLog.topics()  # upcast to v2, which it audits
    assert "organizations.ApiTokenIdAllocated.v1" not in AuditLog.topics()


def test_option_values_round_trip_as_json(db: SqliteDatabase) -> None:
    f = Feeder(db, ProjectOptions())
    value = {"nested": [1, "two", None], "flag": True}
    f.feed(ProjectOptionSet(1, 9, "custom", value))
    for view in f.read():
        assert options_view.options(view, 1) == {"custom": value}
        assert json.loads(view.execute("SELECT value FROM {current}")[0][0]) == value


def test_an_event_goes_to_the_handler_of_its_nearest_handled_class_every_time() -> None:
    """Handlers are looked up once per event class (then remembered): the nearest class in
    the event's MRO that has one wins, and an event no handler takes is left alone."""
    calls: list[tuple[str, str]] = []

    class Specific(Projection):
        name = "specific"
        tables: dict[str, str] = {}

        @on(MetricBlockingChanged)
        def _metric(self, view: View, rec: Recorded) -> None:
            calls.append(("metric", type(rec.event).__name__))

        @on(Event)
        def _any(self, view: View, rec: Recorded) -> None:
            calls.append(("any", type(rec.event).__name__))

    class OnlyMetrics(Projection):  # the same metric handler, and none for other events
        name = "only_metrics"
        tables: dict[str, str] = {}
        _metric = Specific._metric

    def recorded(e: Event) -> Recorded:
        return Recorded(uuid4(), 1, e, T0, TOKEN, 1)

    blocked = recorded(MetricBlocked(1, 9, "web", "c:custom/a@none", True, ()))
    reset = recorded(BlockedMetricsReset(1, 9, "web"))
    for _ in range(2):
        for projection in (Specific(), OnlyMetrics()):
            for rec in (blocked, reset):
                projection.handle(None, rec)  # type: ignore[arg-type]
    assert (
        calls
        == [
            ("metric", "MetricBlocked"),
            ("any", "BlockedMetricsReset"),
            ("metric", "MetricBlocked"),
        ]
        * 2
    )
