"""The composition root: the only place that knows every concrete class."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from commands import Command, Conflict
from commands.organizations import IdCollision
from events import Meta
from infra.config import Settings
from infra.db import Database, PostgresDatabase, SqliteDatabase
from infra.dispatcher import Dispatcher, Outcome
from infra.engine import Engine
from infra.eventstore import EventStore, build_recorders
from infra.fetch_commits import enqueuer
from infra.heartbeat import Heartbeat
from infra.lookups import Lookups
from infra.progress import ProgressSignal, progress_channel
from infra.read_your_writes import WriteMarks
from infra.redis import connect
from infra.relay_cache import RelayConfigCache
from infra.replica import Replica
from infra.snapshots import Snapshots
from infra.snowflake import MAX_RETRY_DETAIL, MAX_SAVE_ATTEMPTS, SnowflakeGenerator
from infra.token_usage import TokenUsage
from infra.worker import Worker


@dataclass
class Services:
    settings: Settings
    store: EventStore
    db: Database
    engine: Engine
    dispatcher: Dispatcher
    redis: Any
    heartbeat: Heartbeat
    snowflake: SnowflakeGenerator
    marks: WriteMarks
    token_usage: TokenUsage
    lookups: Lookups = field(default_factory=lambda: Lookups(0))
    worker: Worker | None = None
    _thread: threading.Thread | None = field(default=None, repr=False)

    def dispatch(self, command: Command, meta: Meta | None = None, **kwargs: Any) -> Outcome:
        return self.dispatcher.dispatch(command, meta, **kwargs)

    def dispatch_with_new_id(
        self,
        make: Callable[[int], Command],
        redis_key: str,
        meta: Meta | None = None,
        **kwargs: Any,
    ) -> Outcome:
        """Draw a snowflake id for a new entity; a collision draws again (5 tries, as Sentry)."""
        for _ in range(MAX_SAVE_ATTEMPTS):
            try:
                command = make(self.snowflake(redis_key))
                return self.dispatcher.dispatch(command, meta, inline_response=True, **kwargs)
            except IdCollision:
                continue
        raise Conflict(MAX_RETRY_DETAIL)

    def start_worker(self) -> Worker:
        """Follow the log in a background thread (the embedded default's projection worker)."""
        if self.worker is None:
            conninfo = self.settings.postgres_conninfo() if self.settings.is_postgres else None
            channel = events_channel(self.store.recorder)
            self.worker = Worker(
                self.engine, None, self.settings.poll_interval, conninfo, channel, heartbeat=self.heartbeat
            )
            self.dispatcher.listeners.append(self.worker.notify)
            self._thread = self.worker.start()
        return self.worker

    def close(self) -> None:
        if self.worker is not None:
            self.worker.shutdown(self._thread)
        self.engine.progress.close()
        self.db.close()
        if self.engine.replica is not None:
            self.engine.replica.close()
        recorder_datastore = getattr(self.store.recorder, "datastore", None)
        if recorder_datastore is not None and hasattr(recorder_datastore, "close"):
            recorder_datastore.close()


def bootstrap(settings: Settings | None = None, create_tables: bool | None = None) -> Services:
    """Build everything; tables are created only by ``migrate`` (or on the embedded default)."""
    settings = settings or Settings.from_env()
    if create_tables is None:
        create_tables = not settings.is_postgres
    recorder, snapshot_recorder = build_recorders(settings.eventsourcing_env(create_table=create_tables))
    store = EventStore(recorder)
    db: Database
    if settings.is_postgres:
        db = PostgresDatabase(settings.postgres_conninfo())
    else:
        db = SqliteDatabase(settings.sqlite_views_path)
    redis = connect(settings.redis_url, settings.data_dir, cluster=settings.redis_cluster)
    replica_conninfo = settings.replica_conninfo()
    replica = (
        Replica(replica_conninfo, settings.postgres_conninfo(), settings.replica_max_lag)
        if replica_conninfo
        else None
    )
    effects: dict[str, Callable[[list[Any]], None]] = {
        "relay_configs": RelayConfigCache(redis).write,
        "releases": enqueuer(redis, settings),  # fetch_commits jobs
    }
    engine = Engine(
        db,
        store,
        batch_size=settings.batch_size,
        effects=effects,
        repeat_after_commit=frozenset({"relay_configs"}),
        replica=replica,
        progress=progress_signal(settings, recorder),
    )
    if create_tables:
        engine.migrate()
    dispatcher = Dispatcher(store, snapshots=Snapshots(snapshot_recorder))
    lookups = Lookups(settings.lookup_cache_seconds)
    dispatcher.observers.append(lookups.appended)
    return Services(
        settings=settings,
        store=store,
        db=db,
        engine=engine,
        dispatcher=dispatcher,
        lookups=lookups,
        redis=redis,
        heartbeat=Heartbeat(redis, settings.deployment),
        # One id space per Redis, as in Sentry: ids stay unique across deployments sharing it,
        # so caches keyed by ids (assembly state, locks, flags) never mix them up.
        snowflake=SnowflakeGenerator(redis, region_id=settings.snowflake_region),
        marks=WriteMarks(redis, engine, settings.deployment, settings.read_your_writes_ttl),
        token_usage=TokenUsage(redis, settings.deployment),
    )


def progress_signal(settings: Settings, recorder: Any) -> ProgressSignal:
    """On PostgreSQL, word of the worker's progress reaches every process (LISTEN/NOTIFY)."""
    if not settings.is_postgres:
        return ProgressSignal()  # one process: the worker thread wakes its waits directly
    channel = progress_channel(events_channel(recorder))
    return ProgressSignal(settings.postgres_conninfo(), channel, recorder.wake_statement)


def events_channel(recorder: Any) -> str:
    """What the log's recorder NOTIFYs on every append (PostgreSQL)."""
    return str(getattr(recorder, "channel_name", "eventry_events"))


def migrate(settings: Settings | None = None) -> None:
    """Create or upgrade every table once, before servers and workers start."""
    services = bootstrap(settings, create_tables=True)
    services.close()
