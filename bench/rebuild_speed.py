"""Projection rebuild speed: events per second replayed from PostgreSQL into each view
(``Engine.rebuild``: a new generation filled in batches, then swapped in), side by side with the
raw rate of reading the same notifications (the recorder's ``select_notifications``, in pages
of the same size, filtered by the same topics, nothing decoded) in the same run. Each side runs
twice and keeps its faster run (either moves by a fifth from run to run on this machine).

The log is made by the real commands: organizations, tokens, organization settings, projects
with their keys, key updates, project options, metric and tag blocking, custom metric flags,
releases with deploys and issues, uploaded blobs and relay registrations, about half of the
writes with an Idempotency-Key (as HTTP clients send them). They run through the real
dispatcher on an in-memory event store (no waiting on PostgreSQL for each command), and the
recorded events are then appended to PostgreSQL in bulk, in log order.

    python bench/rebuild_speed.py [--orgs 20] [--projects 20] [--batch-size 500]

Its figure for ``bench/all.py`` is the lowest ratio among views of more than 1,000 events (all.py
runs 20 organizations of 20 projects: a rebuild's fixed cost, ~0.1 s for new tables, whose index
builds PostgreSQL 15 flushes to disk one by one, and the swap, is then not most of what is timed).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eventsourcing.persistence import StoredEvent

from bench._harness import scratch_database
from bench._private_servers import private_redis
from bench._result import Pair
from commands import Command
from commands.billing import RecordCustomMetric
from commands.groups import CreateGroup
from commands.metrics import BlockMetric, BlockMetricTags, UnblockMetric, UnblockMetricTags
from commands.organization_settings import UpdateOrganization
from commands.organizations import CreateApiToken, CreateOrganization, CreateProject
from commands.project_keys import CreateProjectKey, DeleteProjectKey, UpdateProjectKey
from commands.project_settings import DeleteProject, UpdateProject
from commands.relays import RegisterRelay
from commands.releases import CreateDeploy, CreateRelease
from commands.uploads import RecordBlobs, StoredBlob
from events import Meta
from infra import draws
from infra.bootstrap import bootstrap, migrate
from infra.config import Settings
from infra.dispatcher import Dispatcher, Idempotency
from infra.eventstore import EventStore, build_recorder

NAME = "rebuild_min"
GOAL = (">=", 0.30)
MIN_EVENTS = 1000  # smaller views are left out of the figure: their rebuild is mostly fixed cost


class Population:
    """Real commands through the real dispatcher, on an in-memory store."""

    def __init__(self) -> None:
        self.store = EventStore(build_recorder({"PERSISTENCE_MODULE": "eventsourcing.popo"}))
        self.dispatcher = Dispatcher(self.store)
        self.ids = itertools.count(4_000_000_000_000_000)
        self.n = 0

    def do(self, command: Command, token: int | None = None) -> Any:
        self.n += 1
        meta = Meta("token", token, "bench token", "127.0.0.1", uuid.uuid4().hex)
        idempotency = None
        if self.n % 2:  # half the writes carry an Idempotency-Key, as HTTP clients send them
            fingerprint = Idempotency.fingerprint_of("PUT", type(command).__name__, self.n)
            idempotency = Idempotency(f"token:{token}", uuid.uuid4().hex, fingerprint)
        # the recorded response body stands in for what the route would render
        render = lambda result: (200, {"command": type(command).__name__})
        return self.dispatcher.dispatch(command, meta, idempotency=idempotency, render=render).result

    def organization(self, index: int, projects: int) -> None:
        org = next(self.ids)
        self.do(CreateOrganization(org, f"rebuild-{index}", f"Rebuild {index}"))
        secret = uuid.uuid4().hex  # stored as its SHA-256 and its last 4 characters
        token_hash = hashlib.sha256(secret.encode()).hexdigest()
        token = self.do(CreateApiToken(org, token_hash, secret[-4:], "bench", ("project:write",)))["id"]
        for i in range(3):
            fields = [f"field-{index}-{i}"]
            self.do(UpdateOrganization(org, values=(("sensitiveFields", fields),)), token)
        for i in range(5):
            public = draws.hex_id()[:40]
            self.do(RegisterRelay(str(uuid.uuid4()), public, "25.11.1", i == 0), token)
        ids = [self.project(org, token, p) for p in range(projects)]
        self.releases(org, token, tuple(ids[:3]))
        self.do(DeleteProject(ids[-1], org, draws.hex_id()), token)
        blobs = tuple(
            StoredBlob(hashlib.sha1(f"{org}-{b}".encode()).hexdigest(), 1024, "k") for b in range(10)
        )
        self.do(RecordBlobs(org, blobs), token)

    def releases(self, org: int, token: int, projects: tuple[int, ...]) -> None:
        """Releases of a few projects, each deployed, and issues first seen in them."""
        for r in range(5):
            version = f"1.{r}.0"
            self.do(CreateRelease(org, version, next(self.ids), projects), token)
            deploy = CreateDeploy(org, version, next(self.ids), "production", None, None, None, None, None)
            self.do(deploy, token)
            for project in projects:
                self.do(
                    CreateGroup(org, project, next(self.ids), f"Error in {version}", None, version), token
                )

    def project(self, org: int, token: int, index: int) -> int:
        project = next(self.ids)
        suffixes, fallback = draws.slug_candidates()
        default_key = draws.new_key(next(self.ids))
        self.do(
            CreateProject(org, project, f"project {index}", "python", suffixes, fallback, None, default_key)
        )
        keys = [default_key.public_key]
        for k in range(3):
            key = draws.new_key(next(self.ids))
            self.do(CreateProjectKey(project, key, f"key {k}"), token)
            keys.append(key.public_key)
        for k, public in enumerate(keys[:2]):
            self.do(UpdateProjectKey(project, public, label=f"renamed {k}", rate_limit=(100, 60)), token)
        for i in range(20):
            options = (("sentry:sensitive_fields", [f"f{i}"]), ("sentry:resolve_age", i))
            self.do(UpdateProject(project, org, options=options), token)
        for i in range(10):
            mri = f"c:custom/m{i % 5}@none"
            self.do(BlockMetricTags(project, mri, (f"t{i}", f"u{i}")), token)
            self.do(UnblockMetricTags(project, mri, (f"t{i}",)), token)
            self.do(BlockMetric(project, f"d:custom/d{i}@millisecond"), token)
            self.do(UnblockMetric(project, f"d:custom/d{i}@millisecond"), token)
        self.do(DeleteProjectKey(project, keys[-1]), token)
        self.do(RecordCustomMetric(project, org, "c:custom/m0@none"))
        return project

    def copy_to(self, target: EventStore, chunk: int = 1000) -> int:
        """Append the recorded events to ``target`` in log order, ``chunk`` per transaction."""
        position = copied = 0
        while notes := self.store.read_raw(position, chunk):
            target.recorder.insert_events(
                [StoredEvent(n.originator_id, n.originator_version, n.topic, n.state) for n in notes]
            )
            position, copied = notes[-1].id, copied + len(notes)
        return copied


def raw_read(store: EventStore, topics: list[str], page: int) -> tuple[int, float]:
    """Notifications of ``topics`` read in pages of ``page``, undecoded: (count, seconds)."""
    began, position, count = time.perf_counter(), 0, 0
    while notes := store.recorder.select_notifications(
        position, page, topics=topics, inclusive_of_start=False
    ):
        position, count = notes[-1].id, count + len(notes)
    return count, time.perf_counter() - began


def timed(call: Any, *args: Any) -> float:
    """Seconds ``call(*args)`` took."""
    began = time.perf_counter()
    call(*args)
    return time.perf_counter() - began


def measure(orgs: int = 20, projects: int = 20, batch_size: int = 500) -> Pair:
    began = time.perf_counter()
    population = Population()
    for index in range(orgs):
        population.organization(index, projects)
    made = time.perf_counter() - began

    with scratch_database("eventry_bench_rebuild") as url, private_redis() as redis_server:
        settings = Settings(database_url=url, redis_url=redis_server.url, batch_size=batch_size)
        migrate(settings)
        svc = bootstrap(settings, create_tables=False)
        try:
            began = time.perf_counter()
            total = population.copy_to(svc.store)
            copied = time.perf_counter() - began
            topics = Counter(n.topic for n in population.store.read_raw(0, total))
            everything, seconds = raw_read(svc.store, [], batch_size)
            details = [
                f"log: {total} events of {len(topics)} types from {population.n} commands (dispatched in "
                f"memory in {made:.1f}s, appended to PostgreSQL in {copied:.1f}s); raw read of the whole "
                f"log {everything / seconds:,.0f} notifications/s",
                f"rebuild into each view, batches of {batch_size} (each side: best of 2)",
                f"{'view':<22}{'events':>8}{'rebuild s':>11}{'rebuild ev/s':>14}{'raw ev/s':>12}{'ratio':>8}",
            ]
            views = {}
            for name, projection in svc.engine.projections.items():
                wanted = list(projection.topics())
                raw = [raw_read(svc.store, wanted, batch_size) for _ in range(2)]
                count, raw_seconds = min(raw, key=lambda r: r[1])
                rebuild_seconds = min(timed(svc.engine.rebuild, name) for _ in range(2))
                if not count:
                    details.append(f"{name:<22}{count:>8}{rebuild_seconds:>11.2f}  (no events of its types)")
                    continue
                rate, raw_rate = count / rebuild_seconds, count / raw_seconds
                views[name] = {"events": count, "rebuild_per_s": rate, "raw_per_s": raw_rate}
                details.append(
                    f"{name:<22}{count:>8}{rebuild_seconds:>11.2f}{rate:>14,.0f}{raw_rate:>12,.0f}"
                    f"{rate / raw_rate:>8.3f}"
                )
        finally:
            svc.close()
    large = {n: v for n, v in views.items() if v["events"] > MIN_EVENTS}
    slowest = min(large, key=lambda n: large[n]["rebuild_per_s"] / large[n]["raw_per_s"])
    low = large[slowest]
    return Pair(
        NAME,
        low["rebuild_per_s"] / low["raw_per_s"],
        low["rebuild_per_s"],
        low["raw_per_s"],
        "events/s",
        GOAL,
        ratio_means=f"rebuild / raw read of the same topics; the lowest among views of more than "
        f"{MIN_EVENTS} events: {slowest}",
        details=details,
        extra={
            "view": slowest,
            "log_events": total,
            "views": {n: round(v["rebuild_per_s"] / v["raw_per_s"], 4) for n, v in views.items()},
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orgs", type=int, default=20)
    parser.add_argument("--projects", type=int, default=20, help="per organization")
    parser.add_argument("--batch-size", type=int, default=500, help="events per view transaction")
    args = parser.parse_args()
    print(measure(args.orgs, args.projects, args.batch_size).render())


if __name__ == "__main__":
    main()
