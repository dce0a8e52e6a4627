"""A test-only projection that cannot fold one kind of event, as if a deployment shipped a
handler with a bug; ``python -m tests.poison ARGS`` runs the real ``eventry`` command line with
it installed, and ``EVENTRY_TEST_POISON_FIXED=1`` is the fix (deployed, then restarted)."""

from __future__ import annotations

import os

import projections
from events import Recorded
from events.metrics import MetricBlockingChanged
from projections import Projection, View, on

POISON = "poison"


class Fold(Projection):
    """Records every metric-blocking event it applies, in order; raises on a metric named
    ``poison`` until fixed."""

    name = "poison_fold"
    tables = {"seen": "position BIGINT PRIMARY KEY, stream TEXT NOT NULL, mri TEXT NOT NULL"}
    fixed = False

    @on(MetricBlockingChanged)
    def _changed(self, view: View, rec: Recorded) -> None:
        assert isinstance(rec.event, MetricBlockingChanged)
        mri = rec.event.metric_mri
        if POISON in mri and not (self.fixed or os.environ.get("EVENTRY_TEST_POISON_FIXED") == "1"):
            raise ValueError(f"cannot fold {mri}")
        view.execute(
            "INSERT INTO {seen} (position, stream, mri) VALUES (%s, %s, %s)",
            (rec.position, str(rec.stream), mri),
        )
        view.emit(mri)


def seen(view: View) -> list[str]:
    return [r[0] for r in view.execute("SELECT mri FROM {seen} ORDER BY position")]


def main() -> None:
    # Before anything imports infra.engine, whose Engine takes PROJECTIONS as its default.
    projections.PROJECTIONS = (*projections.PROJECTIONS, Fold)
    from api.cli import main as cli

    cli()


if __name__ == "__main__":
    main()
