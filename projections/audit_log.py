"""The organization audit log, as a projection: it can never disagree with the events."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from events import Event, Recorded
from events.metrics import MetricBlocked, MetricTagsBlocked, MetricTagsUnblocked, MetricUnblocked
from events.organizations import (
    ApiTokenCreated,
    ApiTokenRevoked,
    OrganizationCreated,
    OrganizationEdited,
    OrganizationRemoved,
    OrganizationRestored,
)
from events.project_keys import ProjectKeyCreated, ProjectKeyEvent, ProjectKeyRemoved, ProjectKeyUpdated
from events.projects import (
    ProjectCreated,
    ProjectOptionRemoved,
    ProjectOptionSet,
    ProjectRemoved,
    ProjectUpdated,
)
from events.teams import TeamCreated
from projections.base import Projection, View, on
from projections.json_text import dumps


@dataclass(frozen=True)
class AuditEvent:
    id: int
    api_name: str
    template: str


AUDIT_EVENTS: dict[str, AuditEvent] = {
    e.api_name: e
    for e in (
        AuditEvent(10, "org.create", "created the organization"),
        AuditEvent(11, "org.edit", "edited the organization setting: {changes}"),
        AuditEvent(12, "org.remove", "removed the organization"),
        AuditEvent(13, "org.restore", "restored the organization"),
        AuditEvent(20, "team.create", "created team {slug}"),
        AuditEvent(30, "project.create", "created project {slug}"),
        AuditEvent(31, "project.edit", "edited project settings {changes}"),
        AuditEvent(32, "project.remove", "removed project {slug}"),
        AuditEvent(50, "projectkey.create", "added project key {public_key}"),
        AuditEvent(51, "projectkey.edit", "edited project key {public_key}"),
        AuditEvent(52, "projectkey.remove", "removed project key {public_key}"),
        AuditEvent(176, "org-auth-token.create", "added org auth token {name}"),
        AuditEvent(177, "org-auth-token.remove", "removed org auth token {name}"),
        AuditEvent(182, "metric.block", "blocked metric {metric_mri} for project {project_slug}"),
        AuditEvent(
            183,
            "metric.tags.block",
            "blocked {tags} tags of metric {metric_mri} for project {project_slug}",
        ),
        AuditEvent(184, "metric.unblock", "unblocked metric {metric_mri} for project {project_slug}"),
        AuditEvent(
            185,
            "metric.tags.unblock",
            "unblocked {tags} tags of metric {metric_mri} for project {project_slug}",
        ),
    )
}

MAX_ACTOR_ID = 2147483647


@dataclass(frozen=True)
class Entry:
    """What one event contributes to the audit log."""

    organization_id: int
    api_name: str
    target_object: int | None
    data: dict[str, Any]


def _metric_entry(api_name: str) -> Callable[[Event], Entry]:
    def build(e: Any) -> Entry:
        data: dict[str, Any] = {"metric_mri": e.metric_mri, "project_slug": e.project_slug}
        if hasattr(e, "tags"):
            data["tags"] = list(e.tags)
        return Entry(e.organization_id, api_name, e.project_id, data)

    return build


def _key_entry(api_name: str) -> Callable[[Event], Entry | None]:
    """``ProjectKey.get_audit_log_data``; ``roles`` 1 is the ``store`` role every key has. The
    key made with a project is not audited (Sentry makes it in a post-save hook)."""

    def build(e: Any) -> Entry | None:
        assert isinstance(e, ProjectKeyEvent)
        if isinstance(e, ProjectKeyCreated) and e.automatic:
            return None
        data = {
            "label": e.label,
            "public_key": e.public_key,
            "secret_key": e.secret_key,
            "roles": 1,
            "status": e.status,
            "rate_limit_count": e.rate_limit_count,
            "rate_limit_window": e.rate_limit_window,
        }
        if isinstance(e, ProjectKeyUpdated):  # the limit before, where it changed (as Sentry adds it)
            if e.prev_rate_limit_count != e.rate_limit_count:
                data["prev_rate_limit_count"] = e.prev_rate_limit_count
            if e.prev_rate_limit_window != e.rate_limit_window:
                data["prev_rate_limit_window"] = e.prev_rate_limit_window
        return Entry(e.organization_id, api_name, e.key_id, data)

    return build


def _removed_project(e: ProjectRemoved) -> Entry:
    """``Project.get_audit_log_data`` as it was when the removal was requested."""
    data = {"id": e.project_id, "slug": e.slug, "name": e.name, "status": 0, "public": False}
    return Entry(e.organization_id, "project.remove", e.project_id, data)


ENTRIES: dict[type[Event], Callable[[Any], Entry | None]] = {
    OrganizationCreated: lambda e: Entry(
        e.organization_id, "org.create", e.organization_id, {"slug": e.slug, "name": e.name}
    ),
    ProjectCreated: lambda e: Entry(
        e.organization_id,
        "project.create",
        e.project_id,
        {"slug": e.slug, "name": e.name, "platform": e.platform},
    ),
    ProjectOptionSet: lambda e: Entry(e.organization_id, "project.edit", e.project_id, {e.key: e.value}),
    ProjectOptionRemoved: lambda e: Entry(e.organization_id, "project.edit", e.project_id, {e.key: None}),
    OrganizationEdited: lambda e: (
        Entry(e.organization_id, "org.edit", e.organization_id, dict(e.changes)) if e.changes else None
    ),
    OrganizationRemoved: lambda e: Entry(e.organization_id, "org.remove", e.organization_id, dict(e.audit)),
    OrganizationRestored: lambda e: Entry(e.organization_id, "org.restore", e.organization_id, dict(e.audit)),
    ProjectUpdated: lambda e: Entry(e.organization_id, "project.edit", e.project_id, dict(e.changes)),
    ProjectRemoved: _removed_project,
    ProjectKeyCreated: _key_entry("projectkey.create"),
    ProjectKeyUpdated: _key_entry("projectkey.edit"),
    ProjectKeyRemoved: _key_entry("projectkey.remove"),
    MetricBlocked: _metric_entry("metric.block"),
    MetricUnblocked: _metric_entry("metric.unblock"),
    MetricTagsBlocked: _metric_entry("metric.tags.block"),
    MetricTagsUnblocked: _metric_entry("metric.tags.unblock"),
    # OrgAuthToken.get_audit_log_data; every eventry token belongs to an organization.
    ApiTokenCreated: lambda e: Entry(
        e.organization_id, "org-auth-token.create", e.token_id, {"name": e.label, "scopes": list(e.scopes)}
    ),
    ApiTokenRevoked: lambda e: Entry(
        e.organization_id, "org-auth-token.remove", e.token_id, {"name": e.label, "scopes": list(e.scopes)}
    ),
    TeamCreated: lambda e: Entry(  # Team.get_audit_log_data; status 0 is ACTIVE
        e.organization_id,
        "team.create",
        e.team_id,
        {"id": e.team_id, "slug": e.slug, "name": e.name, "status": 0},
    ),
}


def render_note(api_name: str, data: dict[str, Any]) -> str:
    """Sentry's renderers: a template, or the ``*EditAuditLogEvent.render`` of an event."""
    if api_name == "org.edit":
        return "edited the organization setting: " + ", ".join(f"{k} {v}" for k, v in data.items())
    if api_name == "project.edit":
        if "old_slug" in data:
            return "renamed project slug from {old_slug} to {new_slug}".format(**data)
        changes = " ".join(f"in {key} to {value}" for key, value in data.items())
        return f"edited project settings {changes}"
    return AUDIT_EVENTS[api_name].template.format(**data)


class AuditLog(Projection):
    name = "audit_log"
    version = 2  # 2: token creations and revocations (org-auth-token.*)
    tables = {
        "entries": "id BIGINT PRIMARY KEY, organization_id BIGINT NOT NULL, event INTEGER NOT NULL, "
        "api_name TEXT NOT NULL, actor_type TEXT, actor_id BIGINT, actor_label TEXT, ip_address TEXT, "
        "target_object BIGINT, data TEXT NOT NULL, note TEXT NOT NULL, date_created TEXT NOT NULL",
    }
    indexes = ("{entries} (organization_id, id)", "{entries} (organization_id, api_name, id)")

    @on(*ENTRIES)
    def _entry(self, view: View, rec: Recorded) -> None:
        entry = ENTRIES[type(rec.event)](rec.event)
        if entry is None:  # the event changed something, but nothing Sentry audits
            return
        view.write(
            "INSERT INTO {entries} (id, organization_id, event, api_name, actor_type, actor_id, actor_label, "
            "ip_address, target_object, data, note, date_created) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                rec.position,
                entry.organization_id,
                AUDIT_EVENTS[entry.api_name].id,
                entry.api_name,
                rec.meta.actor_type,
                rec.meta.actor_id,
                rec.meta.actor_label[:64],
                rec.meta.ip_address,
                entry.target_object,
                dumps(entry.data),
                render_note(entry.api_name, entry.data),
                rec.stamp,
            ),
        )


@dataclass(frozen=True)
class AuditQuery:
    organization_id: int
    api_name: str | None = None
    actor_id: int | None = None
    since: str | None = None
    until: str | None = None  # inclusive, as ``since``
    before_id: int | None = None
    after_id: int | None = None
    limit: int = 100


COLUMNS = ", ".join(
    (
        "id",
        "event",
        "api_name",
        "actor_type",
        "actor_id",
        "actor_label",
        "ip_address",
        "target_object",
        "data",
        "note",
        "date_created",
    )
)


def query(view: View, q: AuditQuery) -> list[dict[str, Any]]:
    """Entries newest first; ``after_id`` pages forward in time (for ``--follow``)."""
    where: list[str] = ["organization_id = %s"]
    params: list[Any] = [q.organization_id]
    for clause, value in (
        ("api_name = %s", q.api_name),
        ("actor_id = %s", q.actor_id),
        ("date_created >= %s", q.since),
        ("date_created <= %s", q.until),
        ("id < %s", q.before_id),
        ("id > %s", q.after_id),
    ):
        if value is not None:
            where.append(clause)
            params.append(value)
    order = "ASC" if q.after_id is not None else "DESC"
    rows = view.execute(
        f"SELECT {COLUMNS} FROM {{entries}} WHERE {' AND '.join(where)} ORDER BY id {order} LIMIT %s",
        (*params, q.limit),
    )
    return [_serialize(r) for r in rows]


def _serialize(row: tuple[Any, ...]) -> dict[str, Any]:
    (id_, _event, api_name, actor_type, actor_id, actor_label, ip, target, data, note, created) = row
    actor: dict[str, Any] = {"name": actor_label or actor_type}
    if actor_id is not None:
        actor = {"id": str(actor_id), "name": actor_label, "type": actor_type}
    return {
        "id": str(id_),
        "actor": actor,
        "event": api_name,
        "ipAddress": ip,
        "note": note,
        "targetObject": target,
        "targetUser": None,
        "data": json.loads(data),
        "dateCreated": created.replace("+00:00", "Z"),
    }
