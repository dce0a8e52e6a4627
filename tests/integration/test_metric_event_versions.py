"""Schema evolution on a log written the old way: metric blocking events of version 1 carried
the whole ``sentry:blocked_metrics`` value; version 2 carries the change. A log of v1 events
(written here as the code before v2 wrote them) must fold, in the deciders and in every view,
to exactly the values those events recorded, and later v2 writes must continue from there."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import StoredEvent
from flask.testing import FlaskClient

from commands.metrics import apply_operation, dump_blocking_state, load_blocking_state
from commands.projects import ProjectState
from events import streams
from events.metrics import BLOCKED_METRICS_OPTION
from infra.bootstrap import Services
from projections import project_options
from projections.relay_document import blocking_for_relay
from tests.conftest import Tenant
from tests.integration.test_relay_configs import add_key

MRIS = [f"c:custom/m{i}@none" for i in range(8)]
TAGS = ["release", "environment", "transaction", "os"]
OPS = ["MetricBlocked", "MetricUnblocked", "MetricTagsBlocked", "MetricTagsUnblocked"]


def old_log(t: Tenant, count: int, seed: int = 13) -> list[tuple[str, dict[str, Any]]]:
    """``count`` v1 events as the v1 decider made them: each with the option value after it."""
    rng = random.Random(seed)
    raw: str | None = None
    log = []
    for _ in range(count):
        op, mri = rng.choice(OPS), rng.choice(MRIS)
        tags = frozenset(rng.sample(TAGS, rng.randint(1, 3))) if "Tags" in op else frozenset()
        block = {"MetricBlocked": True, "MetricUnblocked": False}.get(op)
        new_state, patched = apply_operation(
            load_blocking_state(raw, t.project_id),
            mri,
            block,
            tags if op == "MetricTagsBlocked" else frozenset(),
            tags if op == "MetricTagsUnblocked" else frozenset(),
        )
        raw = dump_blocking_state(new_state)
        payload: dict[str, Any] = {
            "project_id": t.project_id,
            "organization_id": t.org_id,
            "project_slug": t.project_slug,
            "metric_mri": mri,
            "is_blocked": patched.is_blocked,
            "blocked_tags": sorted(patched.blocked_tags),
            "option_value": raw,
        }
        if "Tags" in op:
            payload["tags"] = sorted(tags)
        log.append((f"metrics.{op}.v1", payload))
    return log


def append_old(svc: Services, t: Tenant, log: list[tuple[str, dict[str, Any]]]) -> list[int]:
    stream = streams.project(t.project_id)
    version = svc.store.stream_version(stream)
    at = datetime(2026, 1, 1, tzinfo=UTC).isoformat()
    stored = [
        StoredEvent(
            originator_id=stream,
            originator_version=version + i + 1,
            topic=topic,
            state=json.dumps({"data": payload, "meta": {"actor_type": "cli"}, "at": at}).encode(),
        )
        for i, (topic, payload) in enumerate(log)
    ]
    ids = svc.store.recorder.insert_events(stored)
    return list(ids) if ids else []


def caught_up(svc: Services) -> None:
    """The views have applied the whole log (the worker thread applies it)."""
    assert svc.engine.wait(svc.store.head(), ["project_options", "relay_configs"], timeout=60)


def relay_metrics(svc: Services, project_id: int) -> list[dict[str, Any]]:
    with svc.engine.read("relay_configs") as view:
        rows = view.execute("SELECT document FROM {documents} WHERE project_id = %s", (project_id,))
    return [json.loads(doc)["config"]["metrics"] for (doc,) in rows]


def test_a_log_of_v1_events_folds_to_the_values_it_recorded(
    client: FlaskClient, services: Services, tenant: Tenant
) -> None:
    add_key(client, tenant)  # a key: Relay's document of the project exists
    log = old_log(tenant, 300)
    positions = append_old(services, tenant, log)
    recorded_values = [payload["option_value"] for _, payload in log]
    final = recorded_values[-1]

    # The deciders' fold (the events are read as v2: the value is folded from the changes).
    recorded = services.store.read_stream(streams.project(tenant.project_id))
    assert all(not hasattr(r.event, "option_value") for r in recorded[1:])
    assert ProjectState.fold(r.event for r in recorded).option(BLOCKED_METRICS_OPTION) == final

    # The views: current value, the value as of every v1 position, Relay's denied names and tags.
    caught_up(services)
    with services.engine.read("project_options") as view:
        assert project_options.options(view, tenant.project_id)[BLOCKED_METRICS_OPTION] == final
        for position, value in list(zip(positions, recorded_values, strict=True))[::17]:
            assert (
                project_options.options_at(view, tenant.project_id, position)[BLOCKED_METRICS_OPTION] == value
            )
    expected = {"cardinalityLimits": [], **(blocking_for_relay(final) or {})}
    assert relay_metrics(services, tenant.project_id) == [expected]

    # A v2 write continues from the folded value, as the v1 decider would have.
    mri = "c:custom/after@none"
    response = client.put(
        f"/api/0/projects/{tenant.org_slug}/{tenant.project_slug}/metrics/visibility/",
        json={"operationType": "blockTags", "metricMri": mri, "tags": ["os"]},
        headers=tenant.headers(),
    )
    assert response.status_code == 200
    after, _ = apply_operation(load_blocking_state(final, 0), mri, None, frozenset({"os"}))
    options = client.get(
        f"/api/0/projects/{tenant.org_slug}/{tenant.project_slug}/options/",
        headers=tenant.headers(**{"X-Eventry-Min-Position": response.headers["X-Eventry-Position"]}),
    ).get_json()
    assert options[BLOCKED_METRICS_OPTION] == dump_blocking_state(after)
    caught_up(services)
    assert relay_metrics(services, tenant.project_id) == [
        {"cardinalityLimits": [], **(blocking_for_relay(dump_blocking_state(after)) or {})}
    ]


def test_a_v2_event_is_small_whatever_the_option_holds(services: Services, tenant: Tenant) -> None:
    """What a block appends no longer grows with the number of blocked metrics."""
    from commands.metrics import BlockMetric
    from tests.conftest import OPERATOR

    for i in range(200):
        services.dispatch(BlockMetric(tenant.project_id, f"d:custom/many_{i}@millisecond"), OPERATOR)
    last = services.store.recorder.select_events(streams.project(tenant.project_id), desc=True, limit=1)[0]
    assert last.topic == "metrics.MetricBlocked.v2"
    assert len(last.state) < 600


def test_project_details_show_and_remove_the_folded_option(
    client: FlaskClient, services: Services, tenant: Tenant
) -> None:
    """The option folded from v2 changes is the project's option everywhere a project's options
    are: the details PUT answers it, and a null removes it as it removed a stored value."""
    mri = "c:custom/shown@none"
    path = f"/api/0/projects/{tenant.org_slug}/{tenant.project_slug}/"
    blocked = client.put(
        f"{path}metrics/visibility/",
        json={"operationType": "blockMetric", "metricMri": mri},
        headers=tenant.headers(),
    )
    assert blocked.status_code == 200
    shown = client.put(path, json={"options": {"sentry:origins": "a.example"}}, headers=tenant.headers())
    assert shown.status_code == 200, shown.get_json()
    stored = '[{"metric_mri": "c:custom/shown@none", "is_blocked": true, "blocked_tags": []}]'
    assert shown.get_json()["options"][BLOCKED_METRICS_OPTION] == stored
    removed = client.put(path, json={"options": {BLOCKED_METRICS_OPTION: None}}, headers=tenant.headers())
    assert removed.status_code == 200, removed.get_json()
    assert BLOCKED_METRICS_OPTION not in removed.get_json()["options"]
    options = client.get(
        f"{path}options/",
        headers=tenant.headers(**{"X-Eventry-Min-Position": removed.headers["X-Eventry-Position"]}),
    ).get_json()
    assert BLOCKED_METRICS_OPTION not in options
