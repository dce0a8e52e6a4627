"""BlockMetric commands per second through HTTP on PostgreSQL, side by side with a baseline
Flask endpoint that inserts one row into PostgreSQL and returns JSON.

eventry runs as in production (``eventry serve --workers N`` and ``eventry worker``); the
baseline is served by the same gunicorn command and worker class. Both servers and the worker
stay up for the whole run, both sides are loaded by the same closed-loop client in this
process, the rounds alternate, and the views catch up between rounds. Read the ratio of
throughputs (best round of each side).

    python bench/block_metric_http.py [--seconds 10] [--clients 8] [--workers 2] [--rounds 2]
"""

from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._harness import create_projects, production, serve, serve_baseline, settle, worker
from bench._result import Pair
from bench._throughput import http_arguments, http_pair

NAME = "block_metric_http"
GOAL = (">=", 0.60)
BASELINE_APP = "bench.baseline_app:asgi_app"


def measure(seconds: float = 10, clients: int = 8, workers: int = 2, rounds: int = 2) -> Pair:
    with production("eventry_bench_block") as dep:
        with psycopg.connect(dep.database_url, autocommit=True) as conn:
            conn.execute("CREATE TABLE baseline_rows (id bigserial PRIMARY KEY, body text)")
        slug = f"bench-{secrets.token_hex(3)}"
        dep.cli("orgs", "create", slug)
        token = dep.token(slug, "project:write")
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        projects: list[str] = []

        def block(client: int, n: int) -> tuple[str, str, bytes, dict[str, str]]:
            # one project per client: the numbers measure the write path, not lock contention
            body = {"operationType": "blockTags", "metricMri": f"c:custom/m{n % 50}@none", "tags": [f"t{n}"]}
            path = f"/api/0/projects/{slug}/{projects[client]}/metrics/visibility/"
            return "PUT", path, json.dumps(body).encode(), headers

        def insert(client: int, n: int) -> tuple[str, str, bytes, dict[str, str]]:
            return "PUT", "/insert", json.dumps({"client": client, "n": n}).encode(), headers

        with (
            worker(dep),
            serve(dep, workers) as port,
            serve_baseline(dep, BASELINE_APP, workers, BASELINE_CONNINFO=dep.database_url) as base,
        ):
            projects += create_projects(port, slug, token, [f"p{i}" for i in range(clients)])
            return http_pair(
                dep,
                (NAME, GOAL, "PUT metrics/visibility/ (blockTags) vs PUT /insert (one INSERT)"),
                ((port, block), (base, insert)),
                (seconds, clients, workers, rounds),
                lambda: settle(dep),
            )


def main() -> None:
    args = http_arguments(clients=8)
    print(measure(args.seconds, args.clients, args.workers, args.rounds).render())


if __name__ == "__main__":
    main()
