"""``eventry serve``, ``eventry migrate`` and ``eventry worker``: the processes of a deployment."""

from __future__ import annotations

import click

from api.cli.common import stop_on_signals
from infra import preflight, telemetry
from infra.assemble import job_runner
from infra.bootstrap import bootstrap, migrate
from infra.config import Settings
from infra.worker import Worker


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="gunicorn worker processes")
def serve(host: str, port: int, workers: int) -> None:
    """Serve the API (and, on the embedded default, the projection worker)."""
    from api.server import run  # the web stack loads only for this command

    settings = Settings.from_env()
    if workers > 1 and settings.is_embedded:
        raise click.ClickException(
            "the embedded default (SQLite, the Redis under the data directory) runs one process; "
            "set DATABASE_URL and REDIS_URL to serve with --workers"
        )
    preflight.require(settings)  # one line now, rather than a 500 on every request
    run(host, port, workers, settings)


@click.command("migrate")
def migrate_command() -> None:
    """Create or upgrade every table; run once before servers and workers."""
    settings = Settings.from_env()
    preflight.require(settings, tables=False)
    migrate(settings)
    click.echo(f"migrated: {preflight.database_target(settings)}")


@click.command()
@click.option("--projection", "names", multiple=True, help="only these projections (repeatable)")
def worker(names: tuple[str, ...]) -> None:
    """Follow the log and keep the views up to date, and run background jobs (until SIGINT/SIGTERM)."""
    settings = Settings.from_env()
    telemetry.configure_logging(settings.log_level, settings.log_json)
    preflight.require(settings)
    svc = bootstrap(settings)
    for name in names:
        svc.engine.projection(name)
    conninfo = settings.postgres_conninfo() if settings.is_postgres else None
    channel = getattr(svc.store.recorder, "channel_name", "eventry_events")
    runner = Worker(
        svc.engine, list(names) or None, settings.poll_interval, conninfo, channel, heartbeat=svc.heartbeat
    )
    stop_on_signals(runner.stop)
    jobs = job_runner(svc)  # assembly of uploaded files
    jobs_thread = jobs.start()
    try:
        runner.run()
    finally:
        jobs.shutdown(jobs_thread)
        svc.close()
