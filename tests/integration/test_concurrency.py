"""Concurrent writers to one project on PostgreSQL never lose an update."""

from __future__ import annotations

import json
import multiprocessing
from typing import Any

from commands import Conflict
from commands.metrics import BlockMetricTags, UnblockMetricTags, load_blocking_state
from commands.projects import ProjectState
from events import streams
from infra.bootstrap import bootstrap, migrate
from infra.config import Settings
from tests.conftest import make_tenant

WRITERS, COMMANDS = 8, 100
MRI = "c:custom/page_click@none"


def plan(writer: int) -> list[tuple[str, str]]:
    """Writer ``w`` blocks its own tags and unblocks every third one it blocked."""
    ops = []
    for j in range(COMMANDS):
        if j % 3 == 2:
            ops.append(("unblock", f"w{writer}-{j - 1}"))
        else:
            ops.append(("block", f"w{writer}-{j}"))
    return ops


def writer(
    settings: Settings, project_id: int, index: int, start: multiprocessing.synchronize.Event, rejected: Any
) -> None:
    """Sends its plan; a command refused after the dispatcher's bounded retries (409) is reported."""
    svc = bootstrap(settings, create_tables=False)
    start.wait()
    refused = []
    for op, tag in plan(index):
        command = BlockMetricTags if op == "block" else UnblockMetricTags
        try:
            svc.dispatch(command(project_id, MRI, (tag,)))
        except Conflict:
            refused.append((op, tag))
    rejected.put((index, refused))
    svc.close()


def test_eight_writers_on_one_project_lose_nothing(pg_settings: Settings) -> None:
    migrate(pg_settings)
    svc = bootstrap(pg_settings, create_tables=False)
    tenant = make_tenant(svc)
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    rejected_queue = ctx.Queue()
    procs = [
        ctx.Process(target=writer, args=(pg_settings, tenant.project_id, i, start, rejected_queue))
        for i in range(WRITERS)
    ]
    for p in procs:
        p.start()
    start.set()
    refused = dict(rejected_queue.get(timeout=240) for _ in procs)
    for p in procs:
        p.join(240)
        assert p.exitcode == 0

    # The state must be exactly the fold of the accepted commands: refused ones (a 409 after the
    # bounded retries, rare) are absent, accepted ones present once, none lost.
    expected: set[str] = set()
    accepted = 0
    for i in range(WRITERS):
        for op, tag in plan(i):
            if (op, tag) in refused[i]:
                continue
            accepted += 1
            (expected.add if op == "block" else expected.discard)(tag)
    assert accepted >= WRITERS * COMMANDS * 0.95

    recorded = svc.store.read_stream(streams.project(tenant.project_id))
    assert len(recorded) == 1 + accepted  # created + every accepted command, once
    folded = ProjectState.fold(r.event for r in recorded)
    state = load_blocking_state(folded.option("sentry:blocked_metrics"), tenant.project_id)
    assert state[MRI].blocked_tags == expected

    # Refused appends leave holes; readers stop below a hole while any transaction that could
    # still fill it is open (any writer on the cluster: xids are shared): fold up to what was
    # written, waiting for it to be visible.
    svc.engine.catch_up_all(until=svc.store.written(), timeout=60)
    with svc.engine.read("project_options") as view:
        from projections.project_options import options

        stored = options(view, tenant.project_id)["sentry:blocked_metrics"]
    assert set(json.loads(stored)[0]["blocked_tags"]) == expected
    svc.close()
