"""Fixtures: real PostgreSQL and Redis (a missing one fails the run, never skips), a fresh
PostgreSQL schema or SQLite directory per test, and the app with its projection worker."""

from __future__ import annotations

import itertools
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis as redis_lib
from flask.testing import FlaskClient

from api.app import create_app
from commands.organizations import CreateApiToken, CreateOrganization, CreateProject
from commands.slugs import SUFFIX_SCHEDULE
from events import Meta
from infra import tokens
from infra.bootstrap import Services, bootstrap, migrate
from infra.config import Settings
from tests import embedded_redis, private_servers

# The servers of this run (tests/private_servers.py): set by pytest_configure, before collection.
PG_ADMIN = private_servers.DEFAULT_POSTGRES
REDIS_BASE = private_servers.DEFAULT_REDIS
_schemas = itertools.count()


def pytest_configure(config: pytest.Config) -> None:
    """Find PostgreSQL and Redis, or start private ones for the run; an unreachable configured
    one stops the run with one line instead of failing every test."""
    global PG_ADMIN, REDIS_BASE
    PG_ADMIN = private_servers.postgres_url(config.add_cleanup)
    REDIS_BASE = private_servers.redis_base(config.add_cleanup)


def own_region() -> int:
    """Tests share one Redis, whose snowflake counters give each region 16 ids a second: a
    region of its own per test keeps a fast suite from using up region 0's five-minute look-back."""
    return 1 + secrets.randbelow(4095)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A database of its own for this test process, dropped at the end."""
    name = f"eventry_test_{os.getpid()}"
    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is required for the tests and is not reachable at {PG_ADMIN}: {exc}")
    admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    admin.close()
    _drop_later(name)


def _drop_later(name: str) -> None:
    """Drop the test database from a process of its own that the run does not wait for: it
    holds a schema of view tables per test, and unlinking their files took the last test of
    each worker 20-30 s. A server the suite started itself and stops meanwhile takes the
    database with it."""
    drop = (
        "import sys, psycopg\n"
        "with psycopg.connect(sys.argv[1], autocommit=True, connect_timeout=5) as admin:\n"
        "    admin.execute(f'DROP DATABASE IF EXISTS \"{sys.argv[2]}\" WITH (FORCE)')\n"
    )
    subprocess.Popen(
        [sys.executable, "-c", drop, PG_ADMIN, name],
        start_new_session=True,  # not in the run's process group: it outlives the run's end
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.fixture(scope="session", autouse=True)
def _stop_embedded_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """An ``eventry`` process run without REDIS_URL starts a Redis daemon in its data directory
    (infra/redis.py); it outlives the process by design, so the suite stops every one it made."""
    base = tmp_path_factory.getbasetemp()
    embedded_redis.stop_orphans(base)
    yield
    embedded_redis.stop_under(base)


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A real Redis. Tests share it with other runs, so they never flush it: every key a
    test touches is unique to that test (random ids, slugs and key names)."""
    url = f"{REDIS_BASE}/1"
    client = redis_lib.Redis.from_url(url, socket_connect_timeout=3)
    try:
        client.ping()
    except redis_lib.ConnectionError as exc:
        pytest.fail(f"Redis is required for the tests and is not reachable at {REDIS_BASE}: {exc}")
    finally:
        client.close()
    return url


def postgres_settings(database_url: str, redis_url: str, **kwargs: Any) -> Settings:
    schema = f"t{os.getpid()}_{next(_schemas)}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return Settings(
        database_url=f"{database_url}?schema={schema}",
        redis_url=redis_url,
        log_json=False,
        **{"snowflake_region": own_region(), **kwargs},
    )


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path, redis_url: str) -> Settings:
    """Every test that takes ``settings`` runs on both stores."""
    if request.param == "postgres":
        return postgres_settings(
            request.getfixturevalue("postgres_database"), redis_url, data_dir=tmp_path / "var"
        )
    return Settings(
        data_dir=tmp_path / "var", redis_url=redis_url, log_json=False, snowflake_region=own_region()
    )


@pytest.fixture
def env(tmp_path: Path, redis_url: str) -> dict[str, str]:
    """The environment of an ``eventry`` command on the embedded default in a fresh directory."""
    return {
        "EVENTRY_DATA_DIR": str(tmp_path / "var"),
        "REDIS_URL": redis_url,
        "DATABASE_URL": "",
        "EVENTRY_SNOWFLAKE_REGION": str(own_region()),
    }


@pytest.fixture
def pg_settings(postgres_database: str, redis_url: str) -> Settings:
    return postgres_settings(postgres_database, redis_url)


@contextmanager
def serving(settings: Settings) -> Iterator[Services]:
    """Migrated services with the projection worker running, closed after."""
    migrate(settings)
    svc = bootstrap(settings, create_tables=False)
    svc.start_worker()
    try:
        yield svc
    finally:
        svc.close()


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    with serving(settings) as svc:
        yield svc


@pytest.fixture
def idle(settings: Settings) -> Iterator[Services]:
    """Migrated services with no projection worker: views move only when a test says so."""
    migrate(settings)
    svc = bootstrap(settings, create_tables=False)
    yield svc
    svc.close()


@pytest.fixture
def client(services: Services) -> FlaskClient:
    return create_app(services).test_client()


OPERATOR = Meta(actor_type="cli", actor_label="tests@local")


@dataclass
class Tenant:
    """An organization with one project and a token, made through the real commands."""

    org_id: int
    org_slug: str
    project_id: int
    project_slug: str
    token: str
    token_id: int

    def headers(self, token: str | None = None, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}", **extra}


def make_token(
    svc: Services, org_id: int, scopes: tuple[str, ...], label: str = "test token"
) -> tuple[str, int]:
    token = tokens.generate()
    outcome = svc.dispatch(
        CreateApiToken(org_id, tokens.hash_token(token), token[-4:], label, scopes), OPERATOR
    )
    return token, outcome.result["id"]


def make_tenant(
    svc: Services,
    slug: str | None = None,
    project: str = "Web App",
    scopes: tuple[str, ...] = ("project:read", "project:write", "org:write"),
) -> Tenant:
    slug = slug or f"org-{secrets.token_hex(4)}"
    org = svc.dispatch_with_new_id(
        lambda i: CreateOrganization(i, slug, slug), "organization", OPERATOR
    ).result
    suffixes = tuple(secrets.token_hex(n)[:n] for n in SUFFIX_SCHEDULE)
    proj = svc.dispatch_with_new_id(
        lambda i: CreateProject(org["id"], i, project, "python", suffixes, secrets.token_hex(6)),
        "project",
        OPERATOR,
    ).result
    token, token_id = make_token(svc, org["id"], scopes)
    svc.engine.catch_up_all(["directory"])
    return Tenant(org["id"], org["slug"], proj["id"], proj["slug"], token, token_id)


@pytest.fixture
def tenant(services: Services) -> Tenant:
    return make_tenant(services)


def block_metric(client: FlaskClient, t: Tenant, mri: str) -> int:
    """Block a metric through the API; the log position of the write."""
    r = client.put(
        f"/api/0/projects/{t.org_slug}/{t.project_slug}/metrics/visibility/",
        json={"operationType": "blockMetric", "metricMri": mri},
        headers=t.headers(),
    )
    assert r.status_code == 200, r.get_json()
    return int(r.headers["X-Eventry-Position"])
