"""Concurrent creates of projects with one name, over HTTP from several processes on
PostgreSQL, never end with two projects sharing a slug (sentry-behaviour 8.1, race-free)."""

from __future__ import annotations

import multiprocessing
import re
from typing import Any

from api.app import create_app
from events import streams
from events.organizations import ProjectSlugReserved
from events.projects import ProjectCreated
from infra.bootstrap import bootstrap, migrate
from infra.config import Settings
from tests.conftest import make_tenant

WRITERS, CREATES = 4, 8


def writer(settings: Settings, org_slug: str, token: str, out: Any, go: Any) -> None:
    svc = bootstrap(settings, create_tables=False)
    client = create_app(svc).test_client()
    go.wait()
    slugs = []
    for _ in range(CREATES):
        response = client.post(
            f"/api/0/organizations/{org_slug}/projects/",
            json={"name": "Api Server"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 201, response.get_json()
        slugs.append(response.get_json()["slug"])
    out.put(slugs)
    svc.close()


def test_concurrent_creates_with_one_name_get_distinct_slugs(pg_settings: Settings) -> None:
    migrate(pg_settings)
    svc = bootstrap(pg_settings, create_tables=False)
    tenant = make_tenant(svc)
    svc.start_worker()  # each writer's next create reads the directory its last one changed
    ctx = multiprocessing.get_context("spawn")
    out, go = ctx.Queue(), ctx.Event()
    procs = [
        ctx.Process(target=writer, args=(pg_settings, tenant.org_slug, tenant.token, out, go))
        for _ in range(WRITERS)
    ]
    for p in procs:
        p.start()
    go.set()
    answered = [slug for _ in procs for slug in out.get(timeout=120)]
    for p in procs:
        p.join(60)
        assert p.exitcode == 0

    assert len(answered) == WRITERS * CREATES == len(set(answered))
    assert answered.count("api-server") == 1
    assert all(s == "api-server" or re.fullmatch(r"api-server-[a-z0-9]{2,5}", s) for s in answered)
    # the log agrees with the responses: one reservation and one project per slug
    org_stream = svc.store.read_stream(streams.organization(tenant.org_id))
    reserved = [r.event.slug for r in org_stream if isinstance(r.event, ProjectSlugReserved)]
    assert sorted(reserved) == sorted([*answered, tenant.project_slug])
    created = [
        e.slug for e in (r.event for r in svc.store.read_log(0, 10_000)) if isinstance(e, ProjectCreated)
    ]
    assert sorted(created) == sorted([*answered, tenant.project_slug])
    svc.close()
