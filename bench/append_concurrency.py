"""One-event appends per second on PostgreSQL: the eventsourcing library's recorder (a table
lock held through each commit's fsync) against eventry's (infra/pg_recorder.py), same run.

Each recorder writes to a schema of its own; the rounds alternate the two at 1 and at N
threads, so both see the same machine. Every append is a new stream with one ~200-byte event,
as a BlockMetric PUT appends. The ratio is eventry's rate over the library's.

    python bench/append_concurrency.py [--seconds 3] [--rounds 3] [--threads 8] [--json]

DATABASE_URL picks the server (default postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from eventsourcing.persistence import StoredEvent

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from infra.config import Settings
from infra.eventstore import build_recorder

LIBRARY = "eventsourcing.postgres:PostgresApplicationRecorder"
EVENTRY = "infra.pg_recorder:OrderedCommitRecorder"
STATE = json.dumps({"data": {"metric": "d:transactions/duration@millisecond", "pad": "x" * 120}}).encode()


def recorder(database_url: str, topic: str, threads: int) -> Any:
    schema = f"bench_append_{secrets.token_hex(4)}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    env = Settings(database_url=f"{database_url}?schema={schema}&pool_size={threads}").eventsourcing_env(
        create_table=True
    )
    return build_recorder({**env, "APPLICATION_RECORDER_TOPIC": topic}), schema


def rate(rec: Any, threads: int, seconds: float) -> float:
    """Appends per second from ``threads`` threads during ``seconds``."""
    stop = time.monotonic() + seconds
    counts = [0] * threads

    def run(i: int) -> None:
        while time.monotonic() < stop:
            rec.insert_events([StoredEvent(uuid.uuid4(), 1, "metrics.MetricBlocked.v1", STATE)])
            counts[i] += 1

    started = time.monotonic()
    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(counts) / (time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    made = {topic: recorder(database_url, topic, args.threads) for topic in (LIBRARY, EVENTRY)}
    figures: dict[tuple[str, int], list[float]] = {}
    try:
        for rec, _ in made.values():  # warm up: pools open, statements prepared
            rate(rec, args.threads, 0.5)
        for _ in range(args.rounds):
            for threads in (1, args.threads):
                for topic, (rec, _) in made.items():
                    figures.setdefault((topic, threads), []).append(rate(rec, threads, args.seconds))
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            for rec, schema in made.values():
                rec.datastore.close()
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    report(figures, args.threads, args.json)


def report(figures: dict[tuple[str, int], list[float]], threads: int, as_json: bool) -> None:
    result: dict[str, dict[str, float]] = {}
    print(
        f"{'threads':>7}  {'library/s':>10}  {'eventry/s':>10}  {'ratio':>6}  (median of rounds; each round)"
    )
    for n in (1, threads):
        lib, ours = figures[(LIBRARY, n)], figures[(EVENTRY, n)]
        ratios = [o / b for o, b in zip(ours, lib, strict=True)]
        med = statistics.median(ratios)
        print(
            f"{n:>7}  {statistics.median(lib):>10.0f}  {statistics.median(ours):>10.0f}  {med:>6.2f}"
            f"  ({', '.join(f'{r:.2f}' for r in ratios)})"
        )
        result[f"append_{n}_threads"] = {
            "ratio": round(med, 3),
            "subject": round(statistics.median(ours), 1),
            "baseline": round(statistics.median(lib), 1),
        }
    if as_json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
