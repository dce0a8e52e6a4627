"""Sustained mixed load over HTTP: ``eventry serve --workers 2`` (gunicorn) on PostgreSQL and
Redis with ``eventry worker``, for 60 seconds.

Each virtual user owns a project and repeats the same 20 steps: 7 writes (metric tag
blocking PUTs, a project option PUT, a project key POST) and 13 reads (project options with
``X-Eventry-Min-Position`` of its last write, which must show that write; the organization's
audit log; relay project configs v3 for its keys, signed by an internal relay). Prints
throughput and p50/p99 latency per kind of request and overall, and the errors; exits 1 if
there is any error or an acknowledged write is not in the log exactly once.

    python bench/mixed_load.py [--seconds 60] [--users 8] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._harness import REDIS_URL, scratch_database
from bench._mixed import deployment, log_intact, print_figures, print_log_check, run, verify_log
from bench._private_servers import free_port


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    with (
        scratch_database("eventry_bench_mixed") as url,
        deployment(url, REDIS_URL, args.users, args.workers, free_port()) as dep,
    ):
        tally, elapsed = run(dep, args.users, args.seconds)
        rows = print_figures(
            f"mixed load, {args.seconds:.0f}s, {args.users} users, {args.workers} gunicorn workers "
            "+ eventry worker, PostgreSQL + Redis",
            tally,
            elapsed,
        )
        check = verify_log(dep.settings, tally.acks)
        print_log_check(check)
        errors = len(tally.errors) + len(tally.failed_attempts)
        print(f"  errors: {errors}")
        print(json.dumps({"figures": rows, "log": check}))
    if errors or not log_intact(check):
        sys.exit(1)


if __name__ == "__main__":
    main()
