"""Two ``eventry worker`` processes: the active one is SIGKILLed in the middle of the log, the
standby takes over within seconds, and every view equals a full rebuild (no gap, no duplicate)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from infra.bootstrap import bootstrap, migrate
from infra.config import Settings
from tests.integration.test_projection_engine import ROOT, env_for, populate

TAKEOVER_LIMIT = 10.0  # seconds (the bound; the standby retries its lock every second)


def start_worker(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    env = env_for(settings, EVENTRY_BATCH_SIZE="5", EVENTRY_LOG_LEVEL="INFO", EVENTRY_LOG_FORMAT="text")
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, "-m", "api.cli", "worker"], env=env, cwd=ROOT, stderr=out)


def test_the_standby_takes_over_from_a_killed_worker(pg_settings: Settings, tmp_path: Path) -> None:
    migrate(pg_settings)
    svc = bootstrap(pg_settings, create_tables=False)
    project_ids = populate(svc, projects=6, ops=100)
    head = svc.store.head()
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    workers = [start_worker(pg_settings, log) for log in logs]
    try:
        deadline = time.monotonic() + 60
        active = None
        while active is None:
            assert time.monotonic() < deadline, "no worker became active"
            active = next((i for i, log in enumerate(logs) if "worker is active" in log.read_text()), None)
            time.sleep(0.01)
        while not 0 < svc.engine.positions()["project_options"] < head:
            assert time.monotonic() < deadline, "the worker was not caught mid-projection"
            time.sleep(0.005)
        workers[active].send_signal(signal.SIGKILL)
        workers[active].wait(10)
        killed = time.monotonic()
        killed_at = svc.engine.positions()
        standby = 1 - active
        while "worker is active" not in logs[standby].read_text():
            assert time.monotonic() - killed < TAKEOVER_LIMIT, "the standby did not take over"
            time.sleep(0.01)
        while svc.engine.positions()["project_options"] <= killed_at["project_options"]:
            assert time.monotonic() - killed < TAKEOVER_LIMIT, "the standby took the lock but did not fold"
            time.sleep(0.01)
        # Writes after the failover reach the views too.
        more = populate(svc, projects=1, ops=20)
        assert svc.engine.wait(svc.store.head(), timeout=60)
        assert workers[standby].poll() is None
    finally:
        for worker in workers:
            worker.kill()
            worker.wait(10)
    assert len(project_ids + more) == 7
    followed = {name: svc.engine.dump(name) for name in svc.engine.projections}
    for name in svc.engine.projections:
        svc.engine.rebuild(name)
        assert svc.engine.dump(name) == followed[name], name
    svc.close()
