"""``dispatch(command)``: load, decide, append atomically, retry on a concurrent write.

Two writers to one stream never lose an update: the append names the stream version the
decision was made on, so the loser's append fails and it decides again on fresh state.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from commands import Command, Conflict, DomainError, decide, handler_for
from commands.base import IdCollision, State
from events import Meta, streams
from events.requests import RequestCompleted
from infra import telemetry
from infra.eventstore import EventStore, IntegrityError, Pending
from infra.reserved_ids import reservations
from infra.snapshots import Snapshots
from infra.snowflake import MAX_RETRY_DETAIL

Render = Callable[[Any], tuple[int, Any]]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Idempotency:
    """A client's ``Idempotency-Key``, scoped to who sent it, with a fingerprint of the request."""

    scope: str
    key: str
    fingerprint: str

    @property
    def stream(self) -> UUID:
        return streams.idempotency(self.scope, self.key)

    @staticmethod
    def fingerprint_of(method: str, path: str, body: Any) -> str:
        raw = json.dumps([method, path, body], sort_keys=True, default=str)
        return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class Outcome:
    position: int | None
    result: Any = None
    response: tuple[int, Any] | None = None
    replayed: bool = False
    topics: tuple[str, ...] | None = None  # of the events appended; None when not known


class IdempotencyMismatch(DomainError):
    status = 422


class FailedAfterAppend(Exception):
    """A decision that appended events but still fails the request (e.g. a repaired option)."""

    def __init__(self, error: DomainError, position: int) -> None:
        super().__init__(error.detail)
        self.error = error
        self.position = position


class Dispatcher:
    def __init__(
        self,
        store: EventStore,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        max_attempts: int = 100,
        cache_size: int = 10_000,
        snapshots: Snapshots | None = None,
    ) -> None:
        self.store = store
        self.snapshots = snapshots or Snapshots(None)
        self.clock = clock
        self.max_attempts = max_attempts
        self.cache_size = cache_size
        # (stream, state type) -> (version, state), least recently used first.
        self._cache: dict[tuple[UUID, type[State]], tuple[int, State]] = {}
        self._cache_lock = threading.Lock()
        self.listeners: list[Callable[[int], None]] = []
        self.observers: list[Callable[[list[Pending]], None]] = []  # given each append's events

    def dispatch(
        self,
        command: Command,
        meta: Meta | None = None,
        idempotency: Idempotency | None = None,
        render: Render | None = None,
        inline_response: bool = False,
    ) -> Outcome:
        """``inline_response``: keep the idempotent response in the marker whatever its size (a
        command with freshly drawn ids cannot be decided again the same way on a replay)."""
        name = type(command).__name__
        try:
            outcome = self._dispatch(command, meta or Meta(), idempotency, render, inline_response)
        except FailedAfterAppend:
            telemetry.COMMANDS.labels(name, "failed_after_append").inc()
            raise
        except DomainError as exc:
            telemetry.COMMANDS.labels(name, type(exc).__name__).inc()
            raise
        telemetry.COMMANDS.labels(name, "replayed" if outcome.replayed else "ok").inc()
        return outcome

    def _dispatch(
        self,
        command: Command,
        meta: Meta,
        idempotency: Idempotency | None,
        render: Render | None,
        inline_response: bool = False,
    ) -> Outcome:
        handler = handler_for(command)
        trust = True  # the first attempt may decide on cached states (see _still_current)
        for attempt in range(self.max_attempts):
            if idempotency is not None:
                replay = self._replay(idempotency, command, render)
                if replay is not None:
                    return replay
            reads = handler.reads(command)
            states, versions, trusted = self._load(reads, trust)
            now = self.clock()
            try:
                decision = decide(command, now, states)
            except DomainError:
                if trusted:
                    trust = False  # a refusal is only final on states read from the log
                    continue
                raise
            pending = self._pending(decision.changes, versions)
            if not self._still_current(trusted, pending, decision.error, versions):
                trust = False
                continue
            pending += self._reservations(pending)
            response = None
            if idempotency is not None and decision.error is None:
                response = (render or _default_render)(decision.result)
                marker = _marker(idempotency, response, versions, inline_response)
                pending.append((idempotency.stream, 1, marker))
            if not pending:
                return Outcome(None, decision.result, response)
            try:
                position = self.store.append(pending, meta, now)
            except IntegrityError:
                if self._landed(pending, meta):
                    # The store's own retry re-sent an insert whose commit had succeeded before
                    # the connection broke: the write is in; deciding again would apply it twice.
                    position = self.store.head()
                else:
                    trust = False
                    if not trusted:  # a stale cache is no contention: read and decide again at once
                        telemetry.CONFLICTS.labels(type(command).__name__).inc()
                        # Full jitter, growing to 50 ms: contenders spread out instead of colliding again.
                        time.sleep(random.uniform(0, min(0.05, 0.001 * 2 ** min(attempt, 6))))
                    continue
            telemetry.record_appended(evt.TOPIC for _, _, evt in pending)
            self._advance(reads, states, versions, pending)
            for observer in self.observers:
                observer(pending)
            for listener in self.listeners:
                listener(position)
            if decision.error is not None:
                raise FailedAfterAppend(decision.error, position)
            return Outcome(position, decision.result, response, topics=tuple(e.TOPIC for _, _, e in pending))
        raise Conflict("The resource was changed by a concurrent request; try again")

    def _load(
        self, reads: dict[str, tuple[UUID, type[State]]], trust: bool = False
    ) -> tuple[dict[str, State], dict[UUID, int], frozenset[UUID]]:
        """Fold each stream, reading only what came after the cached fold (states are immutable).
        With ``trust``, a cached fold is used without a read at all; those streams are returned
        as trusted: the decision stands only if its append names their versions."""
        states: dict[str, State] = {}
        versions: dict[UUID, int] = {}
        trusted: set[UUID] = set()
        for name, (stream, state_type) in reads.items():
            with self._cache_lock:
                version, state = self._cache.pop((stream, state_type), (0, None))
            if trust and state is not None:
                trusted.add(stream)
                recorded = []
            else:
                if state is None:  # a cold load starts from the newest snapshot
                    version, state = self.snapshots.load(stream, state_type) or (0, None)
                recorded = self.store.read_stream(stream, after_version=version)
            state = state if state is not None else state_type.initial()
            for r in recorded:
                state = state.evolve(r.event)
            if recorded and self.snapshots.due(version, recorded[-1].version):
                self.snapshots.save(stream, state_type, recorded[-1].version, state)
            version = recorded[-1].version if recorded else version
            states[name], versions[stream] = state, version
            with self._cache_lock:
                self._cache[(stream, state_type)] = (version, state)
                self._trim()
        return states, versions, frozenset(trusted)

    def _advance(
        self,
        reads: dict[str, tuple[UUID, type[State]]],
        states: dict[str, State],
        versions: dict[UUID, int],
        pending: list[Pending],
    ) -> None:
        """Fold what this request appended into the cached states, so that the next command on
        these streams reads nothing it already knows (only what others appended since)."""
        for name, (stream, state_type) in reads.items():
            state, version = states[name], versions[stream]
            for appended_stream, appended_version, evt in pending:
                if appended_stream == stream:
                    state, version = state.evolve(evt), appended_version
            if self.snapshots.due(versions[stream], version):  # the writer snapshots long streams
                self.snapshots.save(stream, state_type, version, state)
            with self._cache_lock:
                cached = self._cache.get((stream, state_type))
                if cached is None or cached[0] < version:  # never replace a newer fold
                    self._cache.pop((stream, state_type), None)
                    self._cache[(stream, state_type)] = (version, state)
                    self._trim()

    def _trim(self) -> None:
        while len(self._cache) > self.cache_size:
            self._cache.pop(next(iter(self._cache)))

    def _landed(self, pending: list[Pending], meta: Meta) -> bool:
        """Whether these very events (same request, same payload, same place) are stored."""
        if not meta.request_id or not pending:
            return False
        stream, version, event = pending[0]
        stored = self.store.read_stream(stream, after_version=version - 1)
        return bool(stored) and stored[0].event == event and stored[0].meta.request_id == meta.request_id

    def _still_current(
        self,
        trusted: frozenset[UUID],
        pending: list[Pending],
        error: DomainError | None,
        versions: dict[UUID, int],
    ) -> bool:
        """Whether a decision made on cached states may be acted on: each trusted stream is either
        named by the append (which fails if another process wrote there since) or still at the
        cached version now (one query for its version, no event read: as current as a fresh read
        of a stream the append does not name ever is). Refusals and no-ops are decided again on
        a fresh read (they append nothing that could fail)."""
        if not trusted:
            return True
        if error is not None or not pending:
            return False
        unnamed = trusted - {stream for stream, _, _ in pending}
        return all(self.store.stream_version(stream) == versions[stream] for stream in unnamed)

    def _pending(self, changes: Any, versions: dict[UUID, int]) -> list[Pending]:
        pending: list[Pending] = []
        next_version = dict(versions)
        for change in changes:
            if change.stream not in next_version:
                next_version[change.stream] = self.store.stream_version(change.stream)
            next_version[change.stream] += 1
            pending.append((change.stream, next_version[change.stream], change.event))
        return pending

    def _reservations(self, pending: list[Pending]) -> list[Pending]:
        """Reservations of the drawn ids these events introduce. An id already taken (a Redis
        that lost its counters, or one per process) is a collision: the caller draws again."""
        reserved = reservations(pending)
        if any(self.store.stream_version(stream) for stream, _, _ in reserved):
            raise IdCollision(MAX_RETRY_DETAIL)
        return reserved

    def _replay(self, idempotency: Idempotency, command: Command, render: Render | None) -> Outcome | None:
        recorded = self.store.read_stream(idempotency.stream)
        if not recorded:
            return None
        marker = recorded[0].event
        assert isinstance(marker, RequestCompleted)
        if marker.fingerprint != idempotency.fingerprint:
            raise IdempotencyMismatch("This Idempotency-Key was already used for a different request")
        body = marker.body
        if marker.digest:
            body = self._rerender(command, marker, recorded[0].at, render)
        # The first request's events are in the log, so its head is a safe read-your-writes position.
        return Outcome(self.store.head(), None, (marker.status, body), replayed=True)

    def _rerender(
        self, command: Command, marker: RequestCompleted, at: datetime, render: Render | None
    ) -> Any:
        """The response of a marker kept by reference: the same command decided again on the
        states it was first decided on (their versions are in the marker), at the same time."""
        versions = {UUID(str(stream)): int(version) for stream, version in marker.read_versions}
        states: dict[str, State] = {}
        for name, (stream, state_type) in handler_for(command).reads(command).items():
            events = self.store.read_stream(stream)
            states[name] = state_type.fold(r.event for r in events if r.version <= versions.get(stream, 0))
        _, body = (render or _default_render)(decide(command, at, states).result)
        if _digest(body) != marker.digest:  # e.g. rendering adds an organization renamed since
            log.warning("idempotent replay of %s re-rendered a different body", marker.key)
        return body


INLINE_LIMIT = 4096  # bytes of JSON: larger responses are kept by reference in the marker


def _marker(
    idempotency: Idempotency, response: tuple[int, Any], versions: dict[UUID, int], inline: bool
) -> RequestCompleted:
    status, body = response
    if inline or len(_canonical(body)) <= INLINE_LIMIT:
        return RequestCompleted(idempotency.key, idempotency.fingerprint, status, body)
    read = tuple((str(stream), version) for stream, version in versions.items())
    return RequestCompleted(idempotency.key, idempotency.fingerprint, status, None, _digest(body), read)


def _canonical(body: Any) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()


def _digest(body: Any) -> str:
    return hashlib.sha256(_canonical(body)).hexdigest()


def _default_render(result: Any) -> tuple[int, Any]:
    return 200, result
