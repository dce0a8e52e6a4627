"""``eventry export`` and ``eventry import``: a store filled through the API, moved from the
embedded SQLite to PostgreSQL, gives identical views; old event versions arrive upcast; an
import keeps positions and refuses a store that is not empty."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import StoredEvent
from flask.testing import FlaskClient

from api.app import create_app
from events import streams
from infra.bootstrap import Services, bootstrap, migrate
from infra.config import Settings
from infra.tokens import generate, hash_token
from tests.cli import fails, run
from tests.conftest import Tenant, make_tenant, own_region, postgres_settings

V1_TOKEN = "organizations.ApiTokenCreated.v1"


def env_of(settings: Settings) -> dict[str, str]:
    return {
        "DATABASE_URL": settings.database_url or "",
        "REDIS_URL": settings.redis_url or "",
        "EVENTRY_DATA_DIR": str(settings.data_dir),
        "EVENTRY_SNOWFLAKE_REGION": str(settings.snowflake_region),
    }


@pytest.fixture
def target(tmp_path: Path, postgres_database: str, redis_url: str) -> Settings:
    return postgres_settings(postgres_database, redis_url, data_dir=tmp_path / "dst")


def fill(client: FlaskClient, t: Tenant) -> None:
    """Organizations, projects, options, keys, releases with commits, tokens, through the API."""
    org, project = f"/api/0/organizations/{t.org_slug}", f"/api/0/projects/{t.org_slug}/{t.project_slug}"
    calls: list[tuple[str, str, Any]] = [
        ("PUT", f"{org}/", {"name": "Moved Inc", "storeCrashReports": 5}),
        ("PUT", f"{project}/", {"options": {"sentry:origins": ["example.com"]}, "name": "Web"}),
        (
            "PUT",
            f"{project}/metrics/visibility/",
            {"operationType": "blockMetric", "metricMri": "c:custom/x@none"},
        ),
        ("POST", f"{project}/keys/", {"name": "second", "rateLimit": {"count": 10, "window": 60}}),
        ("POST", f"{org}/projects/", {"name": "Backend", "platform": "python"}),
        ("POST", f"{org}/teams/", {"slug": "core"}),
        ("POST", f"{org}/releases/", {"version": "1.0", "projects": [t.project_slug]}),
        (
            "PUT",
            f"{org}/releases/1.0/",
            {"commits": [{"id": "a" * 40, "repository": "acme/app", "message": "m"}]},
        ),
        ("POST", f"{org}/releases/", {"version": "2.0", "projects": [t.project_slug], "refs": []}),
        ("POST", f"{org}/org-auth-tokens/", {"name": "ci"}),
    ]
    for method, path, body in calls:
        r = client.open(path, method=method, json=body, headers=t.headers(**{"Idempotency-Key": uuid4().hex}))
        assert r.status_code < 300, (method, path, r.get_json())
    assert (
        client.delete(f"{org}/org-auth-tokens/{r.get_json()['id']}/", headers=t.headers()).status_code == 204
    )


def append_v1_token(svc: Services, org_id: int) -> str:
    """A token as the first version of eventry stored it: read (and imported) as a v2 event."""
    secret = generate()
    body = {
        "data": {
            "token_id": 900,
            "organization_id": org_id,
            "token_hash": hash_token(secret),
            "token_last_characters": secret[-4:],
            "label": "from v1",
            "scopes": ["org:read"],
        },
        "meta": {"actor_type": "cli", "actor_label": "old@host"},
        "at": "2025-01-01T00:00:00+00:00",
    }
    stored = StoredEvent(streams.api_token(hash_token(secret)), 1, V1_TOKEN, json.dumps(body).encode())
    svc.store.recorder.insert_events([stored])
    return secret


def views(svc: Services) -> dict[str, dict[str, list[tuple[object, ...]]]]:
    svc.engine.catch_up_all()
    return {name: svc.engine.dump(name) for name in svc.engine.projections}


def log(svc: Services) -> list[tuple[int, str, int, str]]:
    return [(n.id, str(n.originator_id), n.originator_version, n.topic) for n in svc.store.read_raw(0, 10**6)]


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)  # the source: the embedded default
def test_sqlite_to_postgres_gives_identical_views(
    services: Services, target: Settings, tmp_path: Path
) -> None:
    source = services
    tenant = make_tenant(source, scopes=("org:admin", "org:write", "project:admin", "project:releases"))
    fill(create_app(source).test_client(), tenant)
    v1_secret = append_v1_token(source, tenant.org_id)
    before = views(source)
    filled = {(v, t) for v, tables in before.items() for t, rows in tables.items() if rows}
    assert filled >= {
        ("releases", "releases"),
        ("releases", "release_commits"),
        ("project_options", "current"),
        ("project_keys", "keys"),
        ("organization_options", "options"),
        ("teams", "teams"),
        ("audit_log", "entries"),
        ("relay_configs", "documents"),
        ("tokens", "tokens"),
    }, filled

    exported = tmp_path / "log.ndjson"
    run(env_of(source.settings), "export", str(exported))
    lines = [json.loads(line) for line in exported.read_text().splitlines()]
    assert [line["position"] for line in lines] == [p for p, *_ in log(source)]
    assert lines[-1]["topic"] == V1_TOKEN and lines[-1]["state"]["data"]["label"] == "from v1"

    output = run(env_of(target), "import", str(exported))
    assert f"imported {len(lines)} events" in output and "rebuilt" in output
    moved = bootstrap(target, create_tables=False)
    try:
        assert views(moved) == before
        upcast = [(p, s, v, t.replace(".v1", ".v2") if t == V1_TOKEN else t) for p, s, v, t in log(source)]
        assert log(moved) == upcast  # same positions, streams and versions; current topics
        client = create_app(moved).test_client()
        url = f"/api/0/organizations/{tenant.org_slug}/"
        assert client.get(url, headers=tenant.headers()).get_json()["name"] == "Moved Inc"
        assert client.get(url, headers=tenant.headers(v1_secret)).status_code == 200
        r = client.post(f"{url}teams/", json={"slug": "after"}, headers=tenant.headers())
        assert int(r.headers["X-Eventry-Position"]) > lines[-1]["position"]  # appends continue after
    finally:
        moved.close()
    assert "not empty" in fails(env_of(target), "import", str(exported))


def test_an_import_keeps_positions_with_gaps_and_refuses_what_is_not_a_log(
    settings: Settings, tmp_path: Path
) -> None:
    """Both stores as targets: positions as exported (a PostgreSQL log has gaps), and a file
    that is not a log (or not in order) imports nothing."""
    migrate(settings)
    svc = bootstrap(settings, create_tables=False)
    try:
        make_tenant(svc)
        lines = [json.loads(line) for line in _export(svc, tmp_path / "a.ndjson").splitlines()]
    finally:
        svc.close()
    for i, line in enumerate(lines):
        line["position"] = 10 * (i + 1)  # gaps
    gapped = tmp_path / "gapped.ndjson"
    gapped.write_text("".join(json.dumps(line) + "\n" for line in lines))

    fresh = fresh_like(settings, tmp_path / "b")
    env = env_of(fresh)
    bad = tmp_path / "bad.ndjson"
    for text in ("not json\n", json.dumps({**lines[0], "topic": "nope.Nothing.v1"}) + "\n"):
        bad.write_text(gapped.read_text() + text)
        assert "nothing imported" in fails(env, "import", str(bad))
    bad.write_text("".join(json.dumps(line) + "\n" for line in reversed(lines)))
    assert "not in log order" in fails(env, "import", str(bad))

    run(env, "import", str(gapped))
    imported = bootstrap(fresh, create_tables=False)
    try:
        assert [p for p, *_ in log(imported)] == [10 * (i + 1) for i in range(len(lines))]
        tenant = make_tenant(imported)  # new writes append after the last imported position
        assert min(p for p, *_ in log(imported)[len(lines) :]) > 10 * len(lines)
        assert imported.engine.positions()["directory"] >= 10 * len(lines)
        assert tenant.org_slug in [row[1] for row in imported.engine.dump("directory")["organizations"]]
    finally:
        imported.close()


def _export(svc: Services, path: Path) -> str:
    run(env_of(svc.settings), "export", str(path))
    return path.read_text()


def fresh_like(settings: Settings, data_dir: Path) -> Settings:
    if settings.is_postgres:
        database = (settings.database_url or "").split("?")[0]
        return postgres_settings(database, settings.redis_url or "", data_dir=data_dir)
    return Settings(
        data_dir=data_dir, redis_url=settings.redis_url, log_json=False, snowflake_region=own_region()
    )
