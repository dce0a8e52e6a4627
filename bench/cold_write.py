"""The first BlockMetric PUT from a fresh server process on a project that holds 1,000 blocked
metrics, reached one block at a time (goal: under 50 ms).

eventry runs as in production (``eventry serve --workers N`` and ``eventry worker`` on
PostgreSQL and Redis). The 1,000 blocks are PUTs over HTTP, one after another, as a client
would send them; then the server is restarted (fresh gunicorn workers, nothing cached) and the
first PUT on that project is timed, on a new connection. That is repeated ``--restarts`` times;
as a reference, the same is timed once on a project with a single blocked metric. The figure is
the median of the restarts; its ratio is the milliseconds over the 50 ms goal.

    python bench/cold_write.py [--metrics 1000] [--restarts 3] [--workers 2]
"""

from __future__ import annotations

import argparse
import http.client
import json
import secrets
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._harness import call, create_projects, production, serve, settle, worker
from bench._result import Pair

NAME = "cold_write_ms"
GOAL_MS = 50.0
GOAL = ("<", 1.0)


def block(port: int, org: str, project: str, headers: dict[str, str], mri: str) -> float:
    """One blockMetric PUT on a new connection; its milliseconds."""
    path = f"/api/0/projects/{org}/{project}/metrics/visibility/"
    body = {"operationType": "blockMetric", "metricMri": mri}
    started = time.perf_counter()
    status, _, answer = call(port, "PUT", path, body, headers)
    elapsed = (time.perf_counter() - started) * 1000
    if status != 200:
        raise RuntimeError(f"blockMetric {mri}: {status} {answer}")
    return elapsed


def fill(port: int, path: str, headers: dict[str, str], metrics: int) -> None:
    """``metrics`` blockMetric PUTs, one after another on one kept-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        for i in range(metrics):
            body = {"operationType": "blockMetric", "metricMri": f"d:custom/history_{i}@millisecond"}
            conn.request("PUT", path, json.dumps(body), {**headers, "Content-Type": "application/json"})
            response = conn.getresponse()
            answer = response.read()
            if response.status != 200:
                raise RuntimeError(f"blockMetric {i}: {response.status} {answer[:300]!r}")
    finally:
        conn.close()


def measure(metrics: int = 1000, restarts: int = 3, workers: int = 2) -> Pair:
    with production("eventry_bench_cold") as dep:
        slug = f"bench-{secrets.token_hex(3)}"
        dep.cli("orgs", "create", slug)
        token = dep.token(slug, "project:write")
        headers = {"Authorization": f"Bearer {token}"}
        with worker(dep):
            with serve(dep, workers) as port:
                big, small = create_projects(port, slug, token, ["history", "reference"])
                began = time.perf_counter()
                fill(port, f"/api/0/projects/{slug}/{big}/metrics/visibility/", headers, metrics)
                filled = time.perf_counter() - began
                block(port, slug, small, headers, "d:custom/reference_0@millisecond")
            settle(dep)
            cold = []
            for n in range(restarts):
                with serve(dep, workers) as port:
                    cold.append(block(port, slug, big, headers, f"d:custom/cold_{n}@millisecond"))
            with serve(dep, workers) as port:  # the fixed part of a fresh process's first write
                reference = block(port, slug, small, headers, "d:custom/cold@millisecond")
    ms = statistics.median(cold)
    return Pair(
        NAME,
        ms / GOAL_MS,
        ms,
        GOAL_MS,
        "ms",
        GOAL,
        ratio_means=f"first PUT's ms / the {GOAL_MS:g} ms goal (lower is better)",
        details=[
            f"first blockMetric PUT after a restart of eventry serve --workers {workers}, on a project with "
            f"{metrics} blocked metrics made one PUT at a time ({filled:.1f}s for those {metrics} PUTs); "
            f"median of {restarts} restarts",
            "cold PUT, long history:  " + ", ".join(f"{v:.1f}" for v in cold) + " ms",
            f"cold PUT, one metric:    {reference:.1f} ms (one restart)",
        ],
        extra={"reference_ms": reference, "fill_s": filled},
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--metrics", type=int, default=1000)
    parser.add_argument("--restarts", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print(measure(args.metrics, args.restarts, args.workers).render())


if __name__ == "__main__":
    main()
