"""``eventry consume billing-metrics``: the billing metrics consumer (a Redis Streams consumer group)."""

from __future__ import annotations

import click

from api.cli.common import stop_on_signals
from infra import preflight, telemetry
from infra.billing import BillingConsumer, BillingStreams, check_cluster_slots
from infra.bootstrap import bootstrap
from infra.config import Settings

DEFAULTS = BillingStreams()


@click.group()
def consume() -> None:
    """Stream consumers."""


@consume.command("billing-metrics")
@click.option(
    "--input-stream", envvar="EVENTRY_BILLING_INPUT_STREAM", default=DEFAULTS.input, show_default=True
)
@click.option("--group", envvar="EVENTRY_BILLING_GROUP", default=DEFAULTS.group, show_default=True)
@click.option(
    "--outcomes-stream",
    envvar="EVENTRY_BILLING_OUTCOMES_STREAM",
    default=DEFAULTS.outcomes,
    show_default=True,
)
@click.option(
    "--dead-letter-stream",
    envvar="EVENTRY_BILLING_DEAD_LETTER_STREAM",
    default=DEFAULTS.dead_letter,
    show_default=True,
)
@click.option("--consumer", default=None, help="this member's name (default: host-pid)")
@click.option(
    "--claim-idle-ms",
    default=30_000,
    show_default=True,
    type=click.IntRange(1),
    help="take over another member's message after it was pending this long",
)
@click.option("--crash-at", type=click.Choice(["decoded", "flagged", "committed"]), default=None, hidden=True)
def billing_metrics(
    input_stream: str,
    group: str,
    outcomes_stream: str,
    dead_letter_stream: str,
    consumer: str | None,
    claim_idle_ms: int,
    crash_at: str | None,
) -> None:
    """Read generic metrics, produce billing outcomes, flag first custom metrics (until SIGTERM)."""
    settings = Settings.from_env()
    if settings.redis_url is None:
        raise click.ClickException("the consumer reads a Redis stream: set REDIS_URL")
    telemetry.configure_logging(settings.log_level, settings.log_json)
    preflight.require(settings)
    svc = bootstrap(settings)
    streams = BillingStreams(input_stream, group, outcomes_stream, dead_letter_stream)
    runner = BillingConsumer(
        svc.redis, svc.dispatch, streams, consumer, claim_idle_ms=claim_idle_ms, crash_at=crash_at
    )
    try:
        check_cluster_slots(svc.redis, streams)
    except ValueError as exc:
        svc.close()
        raise click.ClickException(str(exc)) from None
    stop_on_signals(runner.stop)
    try:
        runner.run()
    finally:
        svc.close()
