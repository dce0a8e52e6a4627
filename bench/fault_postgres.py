"""PostgreSQL restarted under the mixed load of ``bench/mixed_load.py``.

The benchmark starts a private PostgreSQL cluster (initdb into a temporary directory, its own
port; the machine's shared server is never touched) and runs the mixed load against it for
60 seconds, restarting the cluster twice, down for 2 seconds each time: ``fast`` at one third
(connections ended, open transactions rolled back) and ``immediate`` at two thirds (the server
killed; it recovers from its write-ahead log). Nothing in eventry is restarted.

Prints the load figures, per restart the failed attempts (503s and dropped connections the
client retried) and the requests that still failed after the client's retries, and how long
after the restart the last failure came; then whether ``eventry worker`` brought every view
back to the head of the log, one request of each kind without retries, and the log check:
every acknowledged write is in the log exactly once. Exits 1 if a write was lost, a request
got a 500, or the service did not recover by itself.

    python bench/fault_postgres.py [--seconds 60] [--users 8] [--workers 2] [--modes fast,immediate]
                                   [--down 2]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._harness import REDIS_URL
from bench._mixed import deployment, print_catch_up, print_faults, print_figures, print_outcome, run
from bench._private_servers import free_port, private_postgres


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--modes", default="fast,immediate", help="pg_ctl stop modes, one restart each")
    parser.add_argument("--down", type=float, default=2.0, help="seconds PostgreSQL stays down")
    args = parser.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    log = Path(tempfile.mkstemp(prefix="eventry-fault-postgres-", suffix=".log")[1])

    with (
        private_postgres() as pg,
        deployment(pg.url, REDIS_URL, args.users, args.workers, free_port(), log) as dep,
    ):
        step = args.seconds / (len(modes) + 1)
        faults = [
            (
                step * (i + 1),
                f"PostgreSQL restart ({mode}, {args.down:g}s down)",
                lambda mode=mode: pg.restart(mode, args.down),
            )
            for i, mode in enumerate(modes)
        ]
        tally, elapsed = run(dep, args.users, args.seconds, faults)
        rows = print_figures(
            f"mixed load with PostgreSQL restarted ({', '.join(modes)}), {args.seconds:.0f}s, {args.users} "
            f"users, {args.workers} gunicorn workers + eventry worker",
            tally,
            elapsed,
        )
        restarts = print_faults(tally)
        caught_up = print_catch_up(dep)
        outcome = print_outcome(dep, tally, log)
        print(json.dumps({"figures": rows, "restarts": restarts, "caught_up_s": caught_up, **outcome}))
    if caught_up is None or not outcome["ok"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
