"""Can the configured database, its tables and Redis be used? One line per problem, naming the
setting and the fix, instead of a pool's retries and a traceback.

``eventry check`` prints every check; the other commands stop at the first problem
(``require``) before they build anything.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import eventsourcing.persistence as es
import psycopg
import redis

from infra.config import Settings
from infra.eventstore import APPLICATION_NAME
from infra.redis import connect, socket_path
from projections import PROJECTIONS

LOG_TABLE = f"{APPLICATION_NAME}_events"
MIGRATE = "run `eventry migrate`"


class Unusable(Exception):
    """A part of the configuration that does not work; the message is one line."""


@dataclass(frozen=True)
class Check:
    name: str  # database, tables, redis
    target: str  # what it connects to (never a password)
    problem: str | None  # None: it works


def checks(settings: Settings, tables: bool = True) -> list[Check]:
    """Every check, in the order a process needs them; the tables only once the database answers."""
    found = [Check("database", database_target(settings), database_problem(settings))]
    if tables:
        problem = found[0].problem and "not checked: the database is not usable"
        problem = problem or tables_problem(settings, outdated=True)
        found.append(Check("tables", database_target(settings), problem))
    found.append(Check("redis", redis_target(settings), redis_problem(settings)))
    return found


def require(settings: Settings, tables: bool = True) -> None:
    """Raise Unusable with the first problem (the tables too, unless TABLES is False)."""
    problem = database_problem(settings)
    if problem is None and tables:
        problem = tables_problem(settings, outdated=False)
    if problem is not None:
        raise Unusable(problem)


def not_migrated(exc: BaseException) -> bool:
    """Whether EXC (or what caused it) says a table (or the log's append function) is missing."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, psycopg.errors.UndefinedTable | psycopg.errors.UndefinedFunction):
            return True
        text = str(seen)
        missing = "no such table" in text or ("relation" in text and "does not exist" in text)
        if missing and isinstance(seen, sqlite3.OperationalError | es.OperationalError | es.ProgrammingError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


# -- what is configured ---------------------------------------------------------------------


def database_target(settings: Settings) -> str:
    if not settings.is_postgres:
        return f"SQLite {settings.sqlite_path.resolve()} (views: {settings.sqlite_views_path.name})"
    env = settings.eventsourcing_env(create_table=False)
    return (
        f"PostgreSQL {env['POSTGRES_HOST']}:{env['POSTGRES_PORT']}, database {env['POSTGRES_DBNAME']}, "
        f"schema {env['POSTGRES_SCHEMA']}, user {env['POSTGRES_USER']}"
    )


def redis_target(settings: Settings) -> str:
    if settings.redis_url is None:
        return f"the data directory's own Redis on {socket_path(settings.data_dir)} (started on demand)"
    url = urlparse(settings.redis_url)
    if url.password:  # shown without it
        url = url._replace(netloc=url.netloc.replace(f":{url.password}@", ":***@"))
    return url.geturl()


# -- the checks ----------------------------------------------------------------------------


def database_problem(settings: Settings) -> str | None:
    if not settings.is_postgres:
        return _writable(settings.sqlite_path.parent, "DATABASE_URL" if settings.database_url else None)
    env = settings.eventsourcing_env(create_table=False)
    where = f"{env['POSTGRES_HOST']}:{env['POSTGRES_PORT']}"
    try:
        with _connect(settings) as conn:
            row = conn.execute("SELECT current_schema()").fetchone()
    except psycopg.OperationalError as exc:
        reason = _reason(exc)
        if "does not exist" in reason and "database" in reason:
            return (
                f"DATABASE_URL: PostgreSQL at {where} has no database {env['POSTGRES_DBNAME']!r}: "
                f"create it (createdb -h {env['POSTGRES_HOST']} -p {env['POSTGRES_PORT']} "
                f"-U {env['POSTGRES_USER']} {env['POSTGRES_DBNAME']}) or correct DATABASE_URL"
            )
        if "authentication" in reason or "role" in reason or "password" in reason:
            return f"DATABASE_URL: PostgreSQL at {where} refused the login ({reason}): correct the user"
        return f"DATABASE_URL: no PostgreSQL answers at {where} ({reason}): start it, or correct DATABASE_URL"
    if row is None or row[0] is None:  # the search path names no existing schema
        return (
            f"DATABASE_URL: the schema {env['POSTGRES_SCHEMA']!r} does not exist in database "
            f"{env['POSTGRES_DBNAME']}: create it (CREATE SCHEMA), or correct ?schema= in DATABASE_URL"
        )
    return None


def tables_problem(settings: Settings, outdated: bool) -> str | None:
    """Whether ``eventry migrate`` has made the log and every view (on SQLite the processes make
    their tables themselves). A view made by older code (OUTDATED) still serves, so processes
    start beside it (``/readyz`` names it) and only ``eventry check`` fails on it."""
    if not settings.is_postgres:
        return None
    with _connect(settings) as conn:
        rows = conn.execute(
            "SELECT to_regclass(%s) IS NOT NULL, to_regclass('projection_state') IS NOT NULL", (LOG_TABLE,)
        ).fetchone()
        if not rows or not all(rows):
            return f"DATABASE_URL: the database has no eventry tables yet: {MIGRATE}"
        active = conn.execute("SELECT name, schema FROM projection_state WHERE active = 1").fetchall()
    current = dict(active)
    missing = [p.name for p in PROJECTIONS if p.name not in current]
    if missing:
        return f"DATABASE_URL: views missing ({', '.join(missing)}): {MIGRATE}"
    stale = [p.name for p in PROJECTIONS if current[p.name] != p.fingerprint()]
    if stale and outdated:
        return f"DATABASE_URL: views made by another version of the code ({', '.join(stale)}): {MIGRATE}"
    return None


def redis_problem(settings: Settings) -> str | None:
    client: Any = None
    try:
        client = connect(settings.redis_url, settings.data_dir, cluster=settings.redis_cluster)
        client.ping()
    except (redis.RedisError, OSError, RuntimeError) as exc:
        if settings.redis_url is None:
            return f"EVENTRY_DATA_DIR: the data directory's own Redis does not start ({_first_line(exc)})"
        where = redis_target(settings)
        return f"REDIS_URL: no Redis answers at {where} ({_first_line(exc)}): start it, or correct REDIS_URL"
    finally:
        if client is not None:
            client.close()
    return None


def _connect(settings: Settings) -> psycopg.Connection[Any]:
    return psycopg.connect(settings.postgres_conninfo().replace("connect_timeout=5", "connect_timeout=3"))


def _writable(directory: Path, setting: str | None) -> str | None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"{setting or 'EVENTRY_DATA_DIR'}: cannot create {directory} ({exc.strerror}): choose another"
    if not os.access(directory, os.W_OK | os.X_OK):
        return f"{setting or 'EVENTRY_DATA_DIR'}: {directory} is not writable: choose another"
    return None


def _reason(exc: BaseException) -> str:
    """The server's own words from psycopg's message (its first line ends with them)."""
    line = _first_line(exc)
    return line.rsplit(" failed: ", 1)[-1].removeprefix("FATAL:").strip()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
