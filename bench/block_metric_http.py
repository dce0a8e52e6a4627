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

import argparse
import json
import secrets
import sys
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._harness import (
    alternate,
    best,
    cpu_line,
    cpu_ratio,
    create_projects,
    describe,
    load,
    production,
    serve,
    serve_baseline,
    settle,
    worker,
)
from bench._result import Pair

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

        measured: list[dict[str, float]] = []
        baseline: list[dict[str, float]] = []
        with (
            worker(dep),
            serve(dep, workers) as port,
            serve_baseline(dep, BASELINE_APP, workers, BASELINE_CONNINFO=dep.database_url) as base,
        ):
            projects += create_projects(port, slug, token, [f"p{i}" for i in range(clients)])
            load(port, block, 1, clients)  # both servers' workers warm (pools open, code paths run)
            load(base, insert, 1, clients)
            settle(dep)
            alternate(
                rounds,
                lambda: measured.append(load(port, block, seconds, clients, dep.cpu)),
                lambda: baseline.append(load(base, insert, seconds, clients, dep.cpu)),
                lambda: settle(dep),
            )
    top, base_top = best(measured), best(baseline)
    return Pair(
        NAME,
        top["rps"] / base_top["rps"],
        top["rps"],
        base_top["rps"],
        "req/s",
        GOAL,
        details=[
            f"PUT metrics/visibility/ (blockTags) vs PUT /insert (one INSERT), {workers} gunicorn workers, "
            f"{clients} clients, {seconds:g}s x {rounds} rounds, best round of each",
            describe("eventry", top),
            describe("baseline", base_top),
            cpu_line(measured, baseline),
        ],
        extra={"errors": int(top["errors"] + base_top["errors"]), "cpu_ratio": cpu_ratio(measured, baseline)},
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    print(measure(args.seconds, args.clients, args.workers, args.rounds).render())


if __name__ == "__main__":
    main()
