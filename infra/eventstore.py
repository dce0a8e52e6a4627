"""The one ordered log, on the eventsourcing library's application recorder.

We store our own envelope (``data``, ``meta``, ``at``) under our explicit topics and use the
recorder for what it is good at: atomic multi-stream appends with optimistic concurrency
(a duplicate ``(stream, version)`` raises ``IntegrityError``), global ordering and paging.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    InfrastructureFactory,
    IntegrityError,
    Notification,
    StoredEvent,
)
from eventsourcing.sqlite import SQLiteAggregateRecorder
from eventsourcing.utils import Environment

from commands import InvalidCommand
from events import Event, Meta, Recorded, from_payload
from events.base import filled, is_plain
from events.envelope import STAMP

APPLICATION_NAME = "eventry"

__all__ = ["EventStore", "IntegrityError", "Pending"]

Pending = tuple[UUID, int, Event]  # (stream, version, event)


def build_recorder(env: dict[str, str]) -> ApplicationRecorder:
    return _factory(env).application_recorder()


def build_recorders(env: dict[str, str]) -> tuple[ApplicationRecorder, AggregateRecorder]:
    """The log's recorder and, on the same database, the snapshot table's (infra/snapshots.py)."""
    factory = _factory(env)
    return factory.application_recorder(), factory.aggregate_recorder("snapshots")


def _factory(env: dict[str, str]) -> InfrastructureFactory[Any]:
    if env.get("PERSISTENCE_MODULE") == "eventsourcing.postgres":
        # Appends that do not serialize through each commit's fsync (infra/pg_recorder.py).
        env = {"APPLICATION_RECORDER_TOPIC": "infra.pg_recorder:OrderedCommitRecorder", **env}
    return InfrastructureFactory.construct(Environment(APPLICATION_NAME, env))


class EventStore:
    def __init__(self, recorder: ApplicationRecorder) -> None:
        self.recorder = recorder

    def read_stream(self, stream: UUID, after_version: int = 0) -> list[Recorded]:
        stored = self.recorder.select_events(stream, gt=after_version or None)
        return [_decode(s) for s in stored]

    def read_versions(self, stream: UUID, first: int, last: int) -> list[Recorded]:
        """Versions ``first`` to ``last`` of a stream (without log positions)."""
        stored = self.recorder.select_events(stream, gt=first - 1 or None, lte=last)
        return [_decode(s) for s in stored]

    def stream_version(self, stream: UUID) -> int:
        """The stream's last version, without reading its last event (which may be large)."""
        version_of = getattr(self.recorder, "stream_version", None)  # PostgreSQL's
        if version_of is not None:
            return int(version_of(stream))
        if isinstance(self.recorder, SQLiteAggregateRecorder):
            table = self.recorder.events_table_name
            with self.recorder.datastore.transaction(commit=False) as c:
                c.execute(
                    f"SELECT MAX(originator_version) FROM {table} WHERE originator_id = ?", [stream.hex]
                )
                row = c.fetchone()
            return int(row[0] or 0) if row else 0
        last = self.recorder.select_events(stream, desc=True, limit=1)
        return last[0].originator_version if last else 0

    def append(self, pending: Sequence[Pending], meta: Meta, at: datetime) -> int:
        """Append atomically; returns the log position of the last event."""
        stored = [_encode(stream, version, evt, meta, at) for stream, version, evt in pending]
        ids = self.recorder.insert_events(stored)
        if ids:
            return max(ids)
        return self.head()  # recorders that do not report ids

    def read_log(
        self, after: int, limit: int, topics: Sequence[str] = (), stop: int | None = None
    ) -> list[Recorded]:
        select_rows = getattr(self.recorder, "select_rows", None)  # PostgreSQL's: plain rows
        if select_rows is not None:
            return [_decode_row(*row) for row in select_rows(after, limit, stop, list(topics))]
        notes = self.recorder.select_notifications(
            after, limit, stop=stop, topics=list(topics), inclusive_of_start=False
        )
        return [_decode(n, n.id) for n in notes]

    def read_raw(self, after: int, limit: int, stop: int | None = None) -> Sequence[Notification]:
        """Notifications without decoding: the baseline for replay benchmarks."""
        return self.recorder.select_notifications(after, limit, stop=stop, inclusive_of_start=False)

    def head(self) -> int:
        """The last position a reader can see now."""
        return self.recorder.max_notification_id() or 0

    def written(self) -> int:
        """The last position any append took, even one a reader cannot see yet (an append
        below it still in flight): what an acknowledged write's position is compared with."""
        last = getattr(self.recorder, "max_written_id", self.recorder.max_notification_id)
        return last() or 0


def _encode(stream: UUID, version: int, evt: Event, meta: Meta, at: datetime) -> StoredEvent:
    # The fields as they are: json.dumps writes a tuple as it writes a list (the bytes of
    # ``to_payload``'s copy, without copying a 10,000-commit event's every value first).
    data = {f.name: getattr(evt, f.name) for f in dataclasses.fields(evt)}
    body = {"data": data, "meta": meta.to_dict(), "at": at.isoformat()}
    if is_plain(type(evt)):
        # orjson writes the same bytes for text, integers, booleans, None and lists (a test
        # holds it to that), at a fifth of the time: 10,000 commits are 1.7 MB. What it refuses
        # (an integer past 64 bits, a lone surrogate, a key that is not text) goes to ``json``.
        try:
            return _stored(stream, version, evt, orjson.dumps(body))
        except orjson.JSONEncodeError:
            pass
    try:
        state = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    except UnicodeEncodeError as exc:  # text no store can keep (the command line passes such)
        found = exc.object[exc.start] if isinstance(exc.object, str) else "\ufffd"
        raise InvalidCommand(f"Surrogate characters are not allowed: U+{ord(found):X}.") from None
    return _stored(stream, version, evt, state)


def _stored(stream: UUID, version: int, evt: Event, state: bytes) -> StoredEvent:
    return StoredEvent(originator_id=stream, originator_version=version, topic=evt.TOPIC, state=state)


def _loads(state: bytes) -> Any:
    """The stored JSON (written by ``json.dumps``), parsed by orjson at about twice the speed
    of ``json``; what orjson refuses and ``json`` reads (an integer past 64 bits, NaN) is read
    by ``json``, so every stored envelope still decodes to the same values."""
    try:
        return orjson.loads(state)
    except orjson.JSONDecodeError:
        return json.loads(state)


def _decode(stored: StoredEvent, position: int | None = None) -> Recorded:
    return _decode_row(stored.originator_id, stored.originator_version, stored.topic, stored.state, position)


def _decode_row(stream: Any, version: int, topic: str, state: bytes, position: int | None) -> Recorded:
    # The parsed dicts are this function's own: the event and its meta keep them as they are.
    body: dict[str, Any] = _loads(state)
    values = {
        "stream": stream if isinstance(stream, UUID) else UUID(str(stream)),
        "version": version,
        "event": from_payload(topic, body["data"], given=True),
        "at": datetime.fromisoformat(body["at"]),
        "meta": Meta.from_dict(body.get("meta") or {}, given=True),
        "position": position,
        STAMP: body["at"],  # written by ``at.isoformat()`` (``_encode``)
    }
    return filled(Recorded, values, given=True)
