"""BlockMetric commands per second through HTTP on PostgreSQL, side by side with a baseline
Flask endpoint that inserts one row into PostgreSQL and returns JSON.

Both run under gunicorn with the same workers, against the same PostgreSQL, loaded by the same
closed-loop client in this process; the runs alternate, and the ratio is what to read.

    python bench/block_metric_http.py [--seconds 10] [--clients 8] [--workers 2] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._harness import (
    REDIS_URL,
    bench_env,
    cli,
    eventry,
    gunicorn,
    load,
    process,
    report,
    scratch_database,
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    with scratch_database("eventry_bench_block") as url:
        env = bench_env(DATABASE_URL=url, REDIS_URL=REDIS_URL)
        with process(eventry("migrate"), env) as proc:
            proc.wait(60)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE baseline_rows (id bigserial PRIMARY KEY, body text)")
        slug = f"bench-{secrets.token_hex(3)}"
        run = lambda *a: cli(env, *a)
        run("orgs", "create", slug)
        projects = [
            json.loads(run("projects", "create", "--org", slug, f"p{i}"))["slug"] for i in range(args.clients)
        ]
        token = run("tokens", "create", "--org", slug, "--scopes", "project:write").strip().splitlines()[-1]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

        def block(client: int, n: int) -> tuple[str, str, bytes, dict[str, str]]:
            # one project per client: the numbers measure the write path, not lock contention
            body = {"operationType": "blockTags", "metricMri": f"c:custom/m{n % 50}@none", "tags": [f"t{n}"]}
            path = f"/api/0/projects/{slug}/{projects[client]}/metrics/visibility/"
            return "PUT", path, json.dumps(body).encode(), headers

        def insert(client: int, n: int) -> tuple[str, str, bytes, dict[str, str]]:
            return "PUT", "/insert", json.dumps({"client": client, "n": n}).encode(), headers

        baseline_env = {**env, "BASELINE_CONNINFO": url}
        measured, baseline = [], []
        with process(eventry("worker"), env):
            for _ in range(args.rounds):
                with process(
                    gunicorn(args.workers, 8791, "api.wsgi:app"), env, "http://127.0.0.1:8791/healthz"
                ):
                    measured.append(load(8791, block, args.seconds, args.clients))
                with process(
                    gunicorn(args.workers, 8792, "bench.baseline_app:app"),
                    baseline_env,
                    "http://127.0.0.1:8792/insert",
                ):
                    baseline.append(load(8792, insert, args.seconds, args.clients))
        report(
            f"BlockMetric (blockTags) over HTTP on PostgreSQL, {args.workers} gunicorn workers, "
            f"{args.clients} clients, {args.seconds:.0f}s each",
            measured,
            baseline,
        )


if __name__ == "__main__":
    main()
