"""Settings, read once from the environment. Nothing here does I/O."""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from infra.environment import ConfigError, parse

__all__ = ["ConfigError", "Settings"]


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    redis_url: str | None = None
    # REDIS_URL names one node of a Redis Cluster; the client finds the others (infra/redis.py).
    redis_cluster: bool = False
    # A PostgreSQL streaming replica of DATABASE_URL that serves view reads (infra/replica.py),
    # unless it is down or more than replica_max_lag seconds behind: then the primary does.
    database_replica_url: str | None = None
    replica_max_lag: float = 2.0
    data_dir: Path = Path("var")
    read_wait_timeout: float = 5.0
    read_your_writes_ttl: int = 300  # seconds a caller's last write is remembered for its reads
    lookup_cache_seconds: float = 1.0  # how long a process trusts a cached token or slug lookup
    poll_interval: float = 0.05
    projection_thread: bool | None = None  # None: only on the embedded default
    batch_size: int = 500
    log_level: str = "INFO"
    log_json: bool = True
    url_prefix: str = "http://127.0.0.1:8000"
    secret_key: str | None = None
    internal_relays: frozenset[str] = frozenset()
    relay_open_registration: bool = True
    features: frozenset[str] = frozenset()  # Sentry's feature flags, e.g. organizations:codecov-integration
    smtp_url: str | None = None  # unset: mail goes to .eml files in $EVENTRY_DATA_DIR/outbox
    mail_from: str = "eventry@localhost"
    metrics_token: str | None = None  # set: /metrics wants "Authorization: Bearer <it>"
    # Directories git repositories may be read from ("{org_id}" names the organization's own);
    # empty: $EVENTRY_DATA_DIR/git/{org_id} (see infra/git_roots.py).
    git_roots: tuple[str, ...] = ()
    # Sentry's snowflake region (0-4095): each region draws its own 16 ids per second, so
    # deployments (or test runs) sharing one Redis can be given separate id budgets.
    snowflake_region: int = 0
    # Reverse proxies in front of the API whose X-Forwarded-For/-Proto are trusted (ProxyFix).
    trusted_proxies: int = 0
    # /readyz: the largest lag (events) a view may have, and the oldest worker heartbeat (seconds).
    ready_max_lag: int = 1000
    ready_max_heartbeat_age: float = 30.0
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings of ENVIRON (default: the process's), validated (infra/environment.py):
        a value that cannot be used raises ConfigError, one line naming the variable."""
        env = parse(environ)
        return cls(
            database_url=env.database_url,
            redis_url=env.redis_url,
            redis_cluster=env.redis_cluster,
            database_replica_url=env.database_replica_url,
            replica_max_lag=env.replica_max_lag,
            data_dir=env.data_dir,
            read_wait_timeout=env.read_wait_timeout,
            read_your_writes_ttl=env.read_your_writes_ttl,
            lookup_cache_seconds=env.lookup_cache_seconds,
            poll_interval=env.poll_interval,
            projection_thread=None if env.projection_thread == "auto" else bool(env.projection_thread),
            batch_size=env.batch_size,
            log_level=env.log_level,
            log_json=env.log_format == "json",
            url_prefix=env.url_prefix,
            secret_key=env.secret_key,
            internal_relays=frozenset(_split(env.internal_relays, ",")),
            relay_open_registration=env.relay_open_registration,
            features=frozenset(_split(env.features, ",")),
            smtp_url=env.smtp_url,
            mail_from=env.mail_from,
            metrics_token=env.metrics_token,
            git_roots=tuple(_split(env.git_roots, os.pathsep)),
            snowflake_region=env.snowflake_region,
            trusted_proxies=env.trusted_proxies,
            ready_max_lag=env.ready_max_lag,
            ready_max_heartbeat_age=env.ready_max_heartbeat_age,
        )

    @property
    def is_postgres(self) -> bool:
        return bool(self.database_url) and urlparse(self.database_url or "").scheme.startswith("postgres")

    @property
    def is_embedded(self) -> bool:
        """SQLite, or the Redis under the data directory: one API process, which runs the projections."""
        return not self.is_postgres or self.redis_url is None

    @property
    def runs_projection_thread(self) -> bool:
        return self.is_embedded if self.projection_thread is None else self.projection_thread

    @property
    def deployment(self) -> str:
        """A short name for this deployment's event store, namespacing its Redis keys so that
        deployments (or test runs) sharing one Redis never see each other's ids, jobs or streams."""
        if self.is_postgres:
            env = self.eventsourcing_env(create_table=False)
            where = "/".join(
                env[k] for k in ("POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_DBNAME", "POSTGRES_SCHEMA")
            )
        else:
            where = str(self.sqlite_path.resolve())
        return hashlib.sha1(where.encode(), usedforsecurity=False).hexdigest()[:16]

    def system_secret(self) -> str:
        """Sentry's ``system.secret-key``: signs relay registration tokens. Every process of a
        deployment must share it (set EVENTRY_SECRET_KEY); the embedded default keeps one in a file."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret-key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process made it first
                pass
            else:
                with os.fdopen(fd, "w") as f:
                    f.write(secrets.token_urlsafe(48))
        return path.read_text().strip()

    @property
    def sqlite_path(self) -> Path:
        if self.database_url and self.database_url.startswith("sqlite:///"):
            return Path(self.database_url.removeprefix("sqlite:///"))
        return self.data_dir / "eventry.sqlite3"

    @property
    def sqlite_views_path(self) -> Path:
        """Views get their own file, so projection batches never block appends to the log."""
        return self.sqlite_path.with_name(self.sqlite_path.stem + "-views.sqlite3")

    def eventsourcing_env(self, create_table: bool) -> dict[str, str]:
        """The environment the eventsourcing library's recorders are built from."""
        common = {"CREATE_TABLE": "y" if create_table else "n"}
        if not self.is_postgres:
            self.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
            return {
                **common,
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(self.sqlite_path),
            }
        url = urlparse(self.database_url or "")
        query = parse_qs(url.query)
        return {
            **common,
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": unquote(url.path.lstrip("/")) or "postgres",
            "POSTGRES_HOST": url.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(url.port or 5432),
            "POSTGRES_USER": unquote(url.username or "postgres"),
            # The library insists on a password even where the server trusts the client.
            "POSTGRES_PASSWORD": unquote(url.password or "") or "unused",
            "POSTGRES_SCHEMA": query.get("schema", ["public"])[0],
            "POSTGRES_POOL_SIZE": query.get("pool_size", ["4"])[0],
            "POSTGRES_MAX_OVERFLOW": "8",
            "POSTGRES_LOCK_TIMEOUT": "5",
            "POSTGRES_CONNECT_TIMEOUT": "1",
        }

    def replica_conninfo(self) -> str | None:
        """DATABASE_REPLICA_URL's connection string, in DATABASE_URL's schema unless it names
        one (a streaming replica copies the primary's whole cluster); None without a replica."""
        url = self.database_replica_url
        if not (self.is_postgres and url):
            return None
        if "schema=" not in urlparse(url).query:
            schema = self.eventsourcing_env(create_table=False)["POSTGRES_SCHEMA"]
            url += ("&" if "?" in url else "?") + f"schema={schema}"
        return replace(self, database_url=url).postgres_conninfo()

    def postgres_conninfo(self) -> str:
        env = self.eventsourcing_env(create_table=False)
        password = env["POSTGRES_PASSWORD"]
        parts = [
            f"dbname={env['POSTGRES_DBNAME']}",
            f"host={env['POSTGRES_HOST']}",
            f"port={env['POSTGRES_PORT']}",
            f"user={env['POSTGRES_USER']}",
            "connect_timeout=5",
        ]
        if password != "unused":
            parts.append(f"password={password}")
        if env["POSTGRES_SCHEMA"] != "public":
            parts.append(f"options='-c search_path={env['POSTGRES_SCHEMA']}'")
        return " ".join(parts)


def _split(value: str, separator: str) -> Iterator[str]:
    return (part.strip() for part in value.split(separator) if part.strip())
