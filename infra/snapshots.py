"""Snapshots of folded stream states, so that loading a long stream reads a bounded amount.

A snapshot is a cache of ``fold(events[:version])``: the dispatcher, on a cold load, starts
from the newest snapshot and reads only the events after it, and writes a new snapshot once it
has folded ``every`` events past the last one. They live in the library's own snapshot table
(``eventry_snapshots``, made by ``eventry migrate``), one row per (stream, state kind, version).

A snapshot is only valid for the code that folded it. Its key includes a fingerprint of the
source of the state's module and of every event module (what ``evolve`` reads), so a deploy
that changes folding never reads an older snapshot: it folds from the log and snapshots anew.
States are pickled: rows are written by this code only, in the database that is already the
source of truth. Any failure to read or write one (a table not migrated yet, a state that no
longer unpickles) falls back to folding the log.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import pickle
import uuid
from functools import cache
from pathlib import Path
from typing import Any

from eventsourcing.persistence import AggregateRecorder, StoredEvent

import events

log = logging.getLogger(__name__)

SNAPSHOT_NAMESPACE = uuid.UUID("6f1c1c52-3b8e-4d0c-9b7a-5a4d9f1e0c11")
EVERY = 100  # events folded past the last snapshot before another one is written


@cache
def fingerprint(state_type: type) -> str:
    """The source of the state's module and of every event module: what a fold depends on
    (read from the files, so every process computes the same, whatever it has imported)."""
    module = Path(inspect.getfile(state_type))
    digest = hashlib.sha256()
    for path in [module, *sorted(Path(events.__file__).parent.glob("*.py"))]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def snapshot_id(stream: uuid.UUID, state_type: type) -> uuid.UUID:
    kind = f"{state_type.__module__}.{state_type.__qualname__}:{fingerprint(state_type)}"
    return uuid.uuid5(SNAPSHOT_NAMESPACE, f"{stream}:{kind}")


class Snapshots:
    def __init__(self, recorder: AggregateRecorder | None, every: int = EVERY) -> None:
        self.recorder = recorder
        self.every = every

    def load(self, stream: uuid.UUID, state_type: type) -> tuple[int, Any] | None:
        """The newest snapshot's (version, state), or None."""
        if self.recorder is None:
            return None
        try:
            rows = self.recorder.select_events(snapshot_id(stream, state_type), desc=True, limit=1)
            if not rows:
                return None
            state = pickle.loads(rows[0].state)  # written by save() below only
        except Exception:  # a cache: any failure means folding from the log
            log.warning("snapshot of %s not read; folding the stream", stream, exc_info=True)
            return None
        return (rows[0].originator_version, state) if isinstance(state, state_type) else None

    def due(self, before: int, after: int) -> bool:
        """Whether folding from version ``before`` to ``after`` passed a snapshot point."""
        return after // self.every > before // self.every

    def save(self, stream: uuid.UUID, state_type: type, version: int, state: Any) -> None:
        if self.recorder is None or version <= 0:
            return
        snapshot = StoredEvent(
            originator_id=snapshot_id(stream, state_type),
            originator_version=version,
            topic=f"{state_type.__module__}:{state_type.__qualname__}",
            state=pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL),
        )
        try:
            self.recorder.insert_events([snapshot])
        except Exception:  # another process wrote this one, or no table yet: nothing lost
            log.debug("snapshot of %s at %s not written", stream, version, exc_info=True)
