"""CPU seconds spent by a deployment's processes, read from /proc (Linux).

On a shared machine, throughput moves with what everyone else runs; the CPU a request costs
does much less. A benchmark side's CPU is that of the processes it started (the server's
gunicorn master and workers, the projection worker) and of the PostgreSQL backends connected
to its scratch database, so the worker's folding and the database's work count too. The load
generator in this process and the shared Redis are left out, the same for both sides.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path

import psycopg

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds of the process and its reaped children) or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()  # after the command name, which may hold spaces
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
    return int(fields[1]), (utime + stime + cutime + cstime) / TICKS


def tree_cpu(roots: Iterable[int]) -> float:
    """CPU seconds of ``roots`` and all their descendants alive now."""
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            stats[int(entry.name)] = stat
    wanted, total = set(roots), 0.0
    frontier = list(wanted)
    while frontier:
        pid = frontier.pop()
        total += stats.get(pid, (0, 0.0))[1]
        children = [p for p, (ppid, _) in stats.items() if ppid == pid and p not in wanted]
        wanted.update(children)
        frontier.extend(children)
    return total


def backends(database_url: str, attempts: int = 20) -> list[int]:
    """Server processes of the other connections to the database (not this one's); retried
    while the shared server has no connection to spare."""
    for attempt in range(attempts):
        try:
            with psycopg.connect(database_url, autocommit=True) as conn:
                rows = conn.execute(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                ).fetchall()
            return [int(r[0]) for r in rows]
        except psycopg.OperationalError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.25)
    raise AssertionError("unreachable")
