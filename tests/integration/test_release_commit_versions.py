"""Schema evolution of ``ReleaseCommitsRecorded``: version 1 carried a dict per commit, version 2
carries columns. A log written the v1 way must fold in every view to the commits it recorded,
and a later v2 list must continue from there (commits kept, messages not sent kept); on both
stores, with the PostgreSQL view's COPY path (all rows new) and its upsert path (some known)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from eventsourcing.persistence import StoredEvent

from commands.release_commits import CommitsInput
from commands.releases import CreateRelease, SetCommits
from events import from_payload
from events.releases import (
    ReleaseCommitsRecorded,
    commit_columns,
    recorded_commits,
    release_commits_stream,
)
from infra import db
from infra.bootstrap import Services
from projections import release_queries
from projections.releases import Releases
from tests.conftest import OPERATOR, Tenant, make_tenant

V1 = "releases.ReleaseCommitsRecorded.v1"
N = 120  # past the sizes below which the view does not try a COPY


def v1_commits(repository_id: int) -> list[dict[str, Any]]:
    """A commit list as the v1 decider recorded it: ``message``/``timestamp`` only when sent."""
    commits: list[dict[str, Any]] = []
    for i in range(N):
        commit: dict[str, Any] = {
            "id": f"{i:040x}",
            "repository_id": repository_id,
            "author_email": f"dev{i % 3}@example.com" if i % 5 else None,
            "author_name": f"Dev {i % 3}" if i % 5 else None,
            "patch_set": [[f"src/f{i}.py", "M"], [f"src/g{i}.py", "A"]] if i % 2 else [],
        }
        if i % 4:
            commit["message"] = None if i % 7 == 0 else f"change {i}"
        if i % 3:
            commit["timestamp"] = f"2024-01-01T00:{i % 60:02d}:00+00:00"
        commits.append(commit)
    return commits


def test_a_v1_payload_upcasts_to_the_same_commits() -> None:
    commits = v1_commits(5)
    payload = {"release_id": 1, "organization_id": 2, "version": "1.0", "commits": commits}
    event = from_payload(V1, json.loads(json.dumps(payload)))
    assert isinstance(event, ReleaseCommitsRecorded) and event.TOPIC.endswith(".v2")
    assert event.ids == tuple(c["id"] for c in commits)
    assert {k: list(getattr(event, k)) for k in commit_columns(commits)} == commit_columns(commits)
    assert recorded_commits(event) == commits
    assert V1 in Releases.topics()  # the worker reads the old topic too


@pytest.fixture
def t(services: Services) -> Tenant:
    return make_tenant(services)


def test_a_v1_log_folds_and_v2_continues_from_it(
    services: Services, t: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    copies: list[bool] = []
    for tx_type in (db._PgTx, db._SqliteTx):
        original = tx_type.copy_new

        def recorded(self: Any, *args: Any, _original: Any = original) -> bool:
            copies.append(_original(self, *args))
            return copies[-1]

        monkeypatch.setattr(tx_type, "copy_new", recorded)
    release_id = services.snowflake("release")
    services.dispatch(CreateRelease(t.org_id, "1.0", release_id, (t.project_id,)), OPERATOR)
    first = ({"id": "seed", "repository": "acme/app"},)
    services.dispatch(
        SetCommits(t.org_id, "1.0", CommitsInput(first, (services.snowflake("repository"),))), OPERATOR
    )
    assert services.engine.wait(services.store.head(), ["releases"], timeout=60)
    with services.engine.read("releases") as view:
        [seed] = release_queries.release_commits(view, t.org_id, release_id, 0, 10)
    repository_id = seed["repository"]["id"]

    # The log written the v1 way: the commit list as one dict per commit.
    copies.clear()
    commits = v1_commits(repository_id)
    stream = release_commits_stream(t.org_id, "1.0")
    payload = {"release_id": release_id, "organization_id": t.org_id, "version": "1.0", "commits": commits}
    at = datetime(2026, 1, 1, tzinfo=UTC).isoformat()
    state = json.dumps({"data": payload, "meta": {"actor_type": "cli"}, "at": at}).encode()
    version = services.store.stream_version(stream) + 1
    services.store.recorder.insert_events([StoredEvent(stream, version, V1, state)])
    assert services.engine.wait(services.store.head(), ["releases", "org_events"], timeout=60)
    with services.engine.read("releases") as view:
        shown = release_queries.release_commits(view, t.org_id, release_id, 0, N + 1)
    assert [c["id"] for c in shown] == [c["id"] for c in commits]
    assert [c["message"] for c in shown] == [c.get("message") for c in commits]
    assert [c["dateCreated"] for c in shown] == [c.get("timestamp") or at for c in commits]
    assert [c["author"] and c["author"]["email"] for c in shown] == [c["author_email"] for c in commits]

    # A v2 list: half of it known (upserted: a message not sent is kept), half new.
    again = tuple(
        {"id": f"{i:040x}", "repository": "acme/app", **({"message": f"new {i}"} if i % 2 else {})}
        for i in range(N // 2, N + N // 2)
    )
    services.dispatch(SetCommits(t.org_id, "1.0", CommitsInput(again)), OPERATOR)
    assert services.engine.wait(services.store.head(), ["releases"], timeout=60)
    with services.engine.read("releases") as view:
        shown = release_queries.release_commits(view, t.org_id, release_id, 0, 2 * N)
    old = {c["id"]: c for c in commits}
    expected = {
        c["id"]: c.get("message", old[c["id"]].get("message") if c["id"] in old else None) for c in again
    }
    assert {c["id"]: c["message"] for c in shown} == expected
    postgres = services.settings.is_postgres
    # The v1 list, its commits and its files were all new (COPY on PostgreSQL); the v2 list
    # replaced the release's list (new again), but its commits and files are not all new.
    assert copies == ([True, True, True, True, False, False] if postgres else [False] * 6)
