"""The write path's per-process caches: a warm write reads nothing the process already knows,
and no cache ever decides on, or serves, something another process has changed under it."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

from api.app import create_app
from commands.base import NotFound
from commands.metrics import BlockMetric
from commands.organizations import CreateProject
from commands.project_settings import DeleteProject
from commands.projects import ProjectState
from commands.release_commits import CommitsInput
from commands.releases import AddRepository, CreateRelease, SetCommits
from commands.slugs import SUFFIX_SCHEDULE
from events import streams
from infra import dispatcher
from infra.bootstrap import Services, bootstrap
from infra.config import Settings
from infra.lookups import Recent
from tests.conftest import OPERATOR, Tenant, make_tenant, make_token


def visibility(client: FlaskClient, t: Tenant, mri: str) -> Any:
    return client.put(
        f"/api/0/projects/{t.org_slug}/{t.project_slug}/metrics/visibility/",
        json={"operationType": "blockMetric", "metricMri": mri},
        headers=t.headers(),
    )


@pytest.fixture
def second(settings: Settings) -> Iterator[Services]:
    """Another process's services on the same log, views and Redis."""
    svc = bootstrap(settings, create_tables=False)
    yield svc
    svc.close()


class Calls:
    """Counts calls to some methods of a real object (which still does the work)."""

    def __init__(self, target: Any, *names: str) -> None:
        self.counts = dict.fromkeys(names, 0)
        for name in names:
            setattr(target, name, self._counting(name, getattr(target, name)))

    def _counting(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.counts[name] += 1
            return method(*args, **kwargs)

        return counted


def test_a_warm_write_only_appends(client: FlaskClient, services: Services, tenant: Tenant) -> None:
    """The token, the slugs and the project's state are known after the first write: the
    second write reads neither the log nor the directory (before: 8 of its 9 round trips)."""
    assert visibility(client, tenant, "c:custom/first@none").status_code == 200
    store = Calls(services.store, "read_stream", "stream_version", "append")
    engine = Calls(services.engine, "read")
    response = visibility(client, tenant, "c:custom/second@none")
    assert response.status_code == 200
    assert store.counts == {"read_stream": 0, "stream_version": 0, "append": 1}
    assert engine.counts == {"read": 0}


def test_a_write_on_a_stale_cache_decides_again_on_the_log(
    client: FlaskClient, services: Services, second: Services, tenant: Tenant
) -> None:
    """Another process writes in between: the append names the cached version, fails, and
    the command is decided again on what the log holds; nothing is lost."""
    assert visibility(client, tenant, "c:custom/a@none").status_code == 200
    second.dispatch(BlockMetric(tenant.project_id, "c:custom/b@none"), OPERATOR)
    last = visibility(client, tenant, "c:custom/c@none")
    assert last.status_code == 200
    options = client.get(
        f"/api/0/projects/{tenant.org_slug}/{tenant.project_slug}/options/",
        headers=tenant.headers(**{"X-Eventry-Min-Position": last.headers["X-Eventry-Position"]}),
    ).get_json()
    blocked = [entry["metric_mri"] for entry in json.loads(options["sentry:blocked_metrics"])]
    assert blocked == ["c:custom/a@none", "c:custom/b@none", "c:custom/c@none"]

    second.dispatch(DeleteProject(tenant.project_id, tenant.org_id, secrets.token_hex(16)), OPERATOR)
    with pytest.raises(NotFound):  # decided on the cached (active) project, refused on the log's
        services.dispatch(BlockMetric(tenant.project_id, "c:custom/d@none"), OPERATOR)


def test_a_refusal_on_a_cached_state_is_checked_on_the_log(services: Services, second: Services) -> None:
    """A project this process once saw missing is created by another process: the next write
    to it succeeds (a refusal is never decided on a cached state)."""
    tenant = make_tenant(services)
    project_id = services.snowflake("project")
    with pytest.raises(NotFound):
        services.dispatch(BlockMetric(project_id, "c:custom/x@none"), OPERATOR)  # caches "missing"
    suffixes = tuple(secrets.token_hex(n)[:n] for n in SUFFIX_SCHEDULE)
    create = CreateProject(tenant.org_id, project_id, "Later", "python", suffixes, secrets.token_hex(6))
    second.dispatch(create, OPERATOR)
    assert services.dispatch(BlockMetric(project_id, "c:custom/x@none"), OPERATOR).position


def test_own_writes_are_never_hidden_by_another_process_s_cache(
    services: Services, second: Services, tenant: Tenant
) -> None:
    """A rename through one process, then a read through another that had the old slug
    cached: the caller's own write wins over the cache (read-your-writes), at once."""
    first, other = create_app(services).test_client(), create_app(second).test_client()
    path = f"/api/0/projects/{tenant.org_slug}/{tenant.project_slug}/"
    assert other.get(path, headers=tenant.headers()).status_code == 200  # cached there
    renamed = first.put(path, json={"slug": "renamed"}, headers=tenant.headers())
    assert renamed.status_code == 200, renamed.get_json()
    assert other.get(path, headers=tenant.headers()).status_code == 302  # to the new slug
    new_path = f"/api/0/projects/{tenant.org_slug}/renamed/"
    assert other.get(new_path, headers=tenant.headers()).get_json()["slug"] == "renamed"


def test_a_token_created_elsewhere_works_at_once(
    client: FlaskClient, services: Services, second: Services, tenant: Tenant
) -> None:
    """Unknown tokens are not cached: one made by another process is honoured on first use."""
    bad = Tenant(**{**tenant.__dict__, "token": "sntryu_" + "0" * 64})
    assert visibility(client, bad, "c:custom/x@none").status_code == 401
    token, _ = make_token(second, tenant.org_id, ("project:write",))
    assert (
        visibility(client, Tenant(**{**tenant.__dict__, "token": token}), "c:custom/x@none").status_code
        == 200
    )


def test_cached_lookups_expire() -> None:
    """The bound on how long another process's change (a token revoked, a project renamed)
    may go unseen: an entry is not served once its time is up, nor for a newer position."""
    now = [100.0]
    cache: Recent[str, str] = Recent(ttl=1.0, clock=lambda: now[0])
    cache.put("k", "v", position=5)
    assert cache.get("k") == "v" and cache.get("k", at_least=5) == "v"
    assert cache.get("k", at_least=6) is None
    now[0] = 100.999
    assert cache.get("k") == "v"
    now[0] = 101.0
    assert cache.get("k") is None
    off: Recent[str, str] = Recent(ttl=0)
    off.put("k", "v")
    assert off.get("k") is None


def test_a_cold_load_of_a_long_stream_reads_a_bounded_amount(
    services: Services, settings: Settings, tenant: Tenant
) -> None:
    """250 blocks, then a process that never saw the project: it starts from the newest
    snapshot and reads fewer than 100 events, and its fold is the fold of the whole log."""
    for i in range(250):
        services.dispatch(BlockMetric(tenant.project_id, f"d:custom/long_{i}@millisecond"), OPERATOR)
    fresh = bootstrap(settings, create_tables=False)
    try:
        read: list[int] = []
        real = fresh.store.read_stream

        def counting(stream: Any, after_version: int = 0) -> Any:
            recorded = real(stream, after_version)
            read.append(len(recorded))
            return recorded

        fresh.store.read_stream = counting  # type: ignore[method-assign]
        fresh.dispatch(BlockMetric(tenant.project_id, "d:custom/cold@millisecond"), OPERATOR)
        assert sum(read) < 100
        everything = services.store.read_stream(streams.project(tenant.project_id))
        folded = ProjectState.fold(r.event for r in everything)
        cached = fresh.dispatcher._cache[(streams.project(tenant.project_id), ProjectState)]
        assert cached == (everything[-1].version, folded)
        assert len(folded.blocked_metrics or {}) == 251
    finally:
        fresh.close()


def test_a_snapshot_that_does_not_load_is_folded_from_the_log(
    services: Services, settings: Settings, tenant: Tenant
) -> None:
    """A snapshot is a cache: one that cannot be read (here: not a state at all) is ignored."""
    stream = streams.project(tenant.project_id)
    for i in range(5):
        services.dispatch(BlockMetric(tenant.project_id, f"d:custom/s_{i}@millisecond"), OPERATOR)
    version = services.store.stream_version(stream)
    services.dispatcher.snapshots.save(stream, ProjectState, version, "not a state")
    fresh = bootstrap(settings, create_tables=False)
    try:
        assert fresh.dispatcher.snapshots.load(stream, ProjectState) is None
        fresh.dispatch(BlockMetric(tenant.project_id, "d:custom/after@millisecond"), OPERATOR)
        _, state = fresh.dispatcher._cache[(stream, ProjectState)]
        assert len(state.blocked_metrics or {}) == 6
    finally:
        fresh.close()


def _set_commits(svc: Services, t: Tenant, version: str, *shas: str) -> None:
    commits = tuple({"id": sha, "repository": "acme/app", "message": f"change {sha}"} for sha in shas)
    svc.dispatch(
        SetCommits(t.org_id, version, CommitsInput(commits, (svc.snowflake("repository"),))), OPERATOR
    )


def test_a_cached_stream_the_append_does_not_name_is_checked_by_its_version(
    services: Services, second: Services, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SetCommits reads the organization's repositories and appends nothing there once they are
    known: a warm one is decided once (its stream's version is read, not its events), and one
    after another process added a repository is decided again on the log (and sees it)."""
    monkeypatch.setattr(dispatcher, "decide", dispatcher.decide)  # restored after the test
    decided = Calls(dispatcher, "decide")
    services.dispatch(
        CreateRelease(tenant.org_id, "1.0", services.snowflake("release"), (tenant.project_id,)), OPERATOR
    )
    _set_commits(services, tenant, "1.0", "a")  # adds acme/app; the repositories are cached
    store = Calls(services.store, "read_stream", "stream_version")
    decided.counts["decide"] = 0
    _set_commits(services, tenant, "1.0", "b")
    assert decided.counts["decide"] == 1
    assert store.counts["read_stream"] == 0 < store.counts["stream_version"]

    second.dispatch(AddRepository(tenant.org_id, 91, "acme/other", "git", None, {}), OPERATOR)
    decided.counts["decide"] = 0
    _set_commits(services, tenant, "1.0", "c")
    assert decided.counts["decide"] == 2  # the cached repositories were stale: decided again
    services.dispatch(
        SetCommits(tenant.org_id, "1.0", CommitsInput(({"id": "d", "repository": "acme/other"},))), OPERATOR
    )  # no fresh id given: it would fail if acme/other were unknown to this process
