"""The billing metrics consumer: generic metrics in (a Redis stream read by a consumer group),
billing outcomes out (another stream), and a project's first custom metric as an event.

Exactly once per message, whatever the moment the process dies:
1. the message is decoded and validated (``snuba-generic-metrics`` schema); its outcomes are
   computed (pure, ``commands.billing``);
2. a custom metric flags its project through a command whose decider adds the event once;
3. the outcomes, a done-marker for the message and the XACK go in one MULTI/EXEC, under WATCH
   of the marker. Dying before EXEC leaves the message pending: it is read again (by this
   consumer after a restart, or claimed by another with XAUTOCLAIM) and steps 1-3 repeat
   harmlessly; after EXEC it is acknowledged and never redelivered. The marker stops a second,
   still-living consumer that claimed a slow message from producing its outcomes twice.

A message that cannot be decoded or validated goes, with the reason, to the dead-letter stream
(in the same kind of transaction) and the consumer moves on.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import redis
from sentry_kafka_schemas import get_codec

from commands import NotFound
from commands.billing import ACCEPTED, RecordCustomMetric, billing_outcomes, custom_metric_mri
from events import Meta
from infra.redis import hash_tag, is_cluster
from infra.redis_streams import GroupReader
from infra.telemetry import log

LOGGER = logging.getLogger("eventry.billing")
FLAG_TTL = 7 * 24 * 3600  # has-custom-metrics-flag-updated, as Sentry caches it
DONE_TTL = 24 * 3600
SYSTEM = Meta(actor_type="system", actor_label="billing-metrics-consumer")
STEPS = ("decoded", "flagged", "committed")


@dataclass(frozen=True)
class BillingStreams:
    input: str = "snuba-generic-metrics"
    group: str = "billing-metrics-consumer"
    outcomes: str = "outcomes"
    dead_letter: str = "snuba-generic-metrics-dlq"


def done_key(streams: BillingStreams, entry_id: str) -> str:
    """The done-marker of an input entry, in the input stream's hash slot (its ``{tag}``, or
    its whole name), so that it can be WATCHed in the transaction that XACKs the entry."""
    return f"billing-done:{{{hash_tag(streams.input)}}}:{streams.group}:{entry_id}"


def check_cluster_slots(redis: Any, streams: BillingStreams) -> None:
    """In a Redis Cluster the outcomes, dead letters, done-marker and XACK of a message are
    one MULTI/EXEC, so the three streams must share a hash tag; refuse to start otherwise."""
    if not is_cluster(redis):
        return
    tags = {hash_tag(name) for name in (streams.input, streams.outcomes, streams.dead_letter)}
    if len(tags) > 1:
        raise ValueError(
            "in a Redis Cluster the billing input, outcomes and dead-letter streams must share "
            "a hash tag (e.g. {billing}metrics, {billing}outcomes, {billing}dlq)"
        )


def flag_key(org_id: int, project_id: int) -> str:
    return f"has-custom-metrics-flag-updated:{org_id}:{project_id}"


def outcome_payload(
    org_id: int, project_id: int, category: int, quantity: int, now: datetime
) -> dict[str, Any]:
    """Sentry's ``track_outcome`` message (``outcomes`` schema)."""
    return {
        "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "org_id": org_id,
        "project_id": project_id,
        "key_id": None,
        "outcome": ACCEPTED,
        "reason": None,
        "event_id": None,
        "category": category,
        "quantity": quantity,
    }


class Malformed(ValueError):
    pass


@dataclass
class BillingConsumer:
    redis: Any
    dispatch: Callable[..., Any]  # Services.dispatch
    streams: BillingStreams = field(default_factory=BillingStreams)
    consumer: str | None = None  # this member's name; default host-pid
    claim_idle_ms: int = 30_000
    block_ms: int = 1000
    crash_at: str | None = None  # a step after which to die with SIGKILL (crash tests)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def __post_init__(self) -> None:
        self.metrics = get_codec("snuba-generic-metrics")
        self.outcomes = get_codec("outcomes")
        name = self.consumer or f"{socket.gethostname()}-{os.getpid()}"
        self.reader = GroupReader(
            self.redis,
            self.streams.input,
            self.streams.group,
            name,
            self.claim_idle_ms,
            100,
            self.block_ms,
        )
        self.stop = threading.Event()

    def run(self) -> None:
        check_cluster_slots(self.redis, self.streams)
        self.reader.ensure_group()
        failures = 0
        while not self.stop.is_set():
            try:
                for entry_id, fields in self.reader.read():
                    self.process(entry_id, fields)
                failures = 0
            except Exception as exc:  # an outage: the message stays pending and is read again
                failures += 1
                log(LOGGER, logging.ERROR, "billing consumer failed", error=repr(exc), failures=failures)
                self.reader.rewind()
                self.stop.wait(min(0.1 * 2**failures, 5.0))

    def process(self, entry_id: str, fields: dict[bytes, bytes]) -> None:
        try:
            message = self.decode(fields)
        except Malformed as exc:
            self.commit(
                entry_id, [], {"id": entry_id, "reason": str(exc), "value": fields.get(b"value", b"")}
            )
            return
        self._step("decoded")
        outcomes = billing_outcomes(message)
        mri = custom_metric_mri(message)
        if mri is not None:
            self.flag_custom_metric(message["org_id"], message["project_id"], mri)
        self._step("flagged")
        now = self.clock()
        payloads = [outcome_payload(message["org_id"], message["project_id"], c, q, now) for c, q in outcomes]
        for p in payloads:
            self.outcomes.validate(p)  # what we produce is what the outcomes schema allows
        self.commit(entry_id, payloads)
        self._step("committed")

    def decode(self, fields: dict[bytes, bytes]) -> dict[str, Any]:
        raw = fields.get(b"value")
        if raw is None:
            raise Malformed("the entry has no 'value' field")
        try:
            message = self.metrics.decode(raw, validate=True)
        except ValueError as exc:  # rapidjson's decode errors
            raise Malformed(f"invalid JSON: {exc}") from None
        except Exception as exc:  # the schema's ValidationError; its reason is on the cause
            raise Malformed(f"schema violation: {exc.__cause__ or exc}") from None
        return dict(message)

    def flag_custom_metric(self, org_id: int, project_id: int, mri: str) -> None:
        """Sentry's first-custom-metric flag: cached 7 days; a missing project is not cached."""
        key = flag_key(org_id, project_id)
        if self.redis.exists(key):
            return
        try:
            self.dispatch(RecordCustomMetric(project_id, org_id, mri), SYSTEM)
        except NotFound:
            return
        self.redis.set(key, "1", ex=FLAG_TTL)

    def commit(
        self, entry_id: str, outcomes: list[dict[str, Any]], dead_letter: dict[str, Any] | None = None
    ) -> None:
        """Outcomes (or the dead letter), the done-marker and the XACK, all or nothing."""
        s = self.streams
        done = done_key(s, entry_id)
        with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(done)
                    already = pipe.exists(done)
                    pipe.multi()
                    if not already:
                        for payload in outcomes:
                            pipe.xadd(s.outcomes, {"value": json.dumps(payload), "source": entry_id})
                        if dead_letter is not None:
                            pipe.xadd(s.dead_letter, dead_letter)
                        pipe.set(done, "1", ex=DONE_TTL)
                    pipe.xack(s.input, s.group, entry_id)
                    pipe.execute()
                    return
                except redis.WatchError:
                    continue

    def _step(self, name: str) -> None:
        if self.crash_at == name:
            os.kill(os.getpid(), signal.SIGKILL)
