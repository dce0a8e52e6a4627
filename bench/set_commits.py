"""SetCommits of 10,000 commits through HTTP on PostgreSQL, side by side with a baseline that
writes the same 10,000 rows straight into PostgreSQL (one COPY, and one batched INSERT).

eventry runs as in production (``eventry serve --workers N`` and ``eventry worker``, which stay
up while the baseline runs too; the rounds alternate and the views catch up between them). Two
figures per round: the PUT's latency (validation, decision, one append of the events) and the
time until the commit list is readable from the view (the projection's batched writes). The
baselines do only the row writes, so the ratios show what the event-sourced path costs over
bare inserts.

    python bench/set_commits.py [--commits 10000] [--rounds 3] [--workers 2]
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._harness import alternate, call, create_projects, production, serve, settle, worker
from bench._result import Pair

NAME = "set_commits_visible_vs_insert"
GOAL = ("<=", 3.0)
BASELINE_DDL = (
    "CREATE TABLE baseline_commits (release_id BIGINT NOT NULL, ord INTEGER NOT NULL, "
    "repository TEXT NOT NULL, commit_key TEXT NOT NULL, message TEXT, author_email TEXT, date_added TEXT, "
    "PRIMARY KEY (release_id, ord))"
)


def commit_list(n: int, round_: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"{round_:08x}{i:032x}",
            "repository": "acme/app",
            "message": f"Change number {i} of round {round_}",
            "author_name": f"Dev {i % 40}",
            "author_email": f"dev{i % 40}@example.com",
            "timestamp": f"2024-01-01T00:00:{i % 60:02d}.{i:06d}Z",
            "patch_set": [{"path": f"src/module_{i % 500}.py", "type": "M"}],
        }
        for i in range(n)
    ]


def measure_eventry(
    port: int, slug: str, project: str, headers: dict[str, str], commits: list[dict[str, Any]], round_: int
) -> dict[str, float]:
    version = f"bench-{round_}"
    status, _, body = call(
        port,
        "POST",
        f"/api/0/organizations/{slug}/releases/",
        {"version": version, "projects": [project]},
        headers,
    )
    assert status == 201, body
    started = time.perf_counter()
    status, reply, body = call(
        port, "PUT", f"/api/0/organizations/{slug}/releases/{version}/", {"commits": commits}, headers
    )
    answered = time.perf_counter() - started
    assert status == 200 and body["commitCount"] == len(commits), (status, body)
    position = reply["x-eventry-position"]
    wait = {**headers, "X-Eventry-Min-Position": str(position)}
    while True:
        status, _, rows = call(
            port, "GET", f"/api/0/organizations/{slug}/releases/{version}/commits/?per_page=1", None, wait
        )
        if status == 200 and rows:
            break
        time.sleep(0.005)
    return {"request_s": answered, "visible_s": time.perf_counter() - started}


def measure_baseline(url: str, commits: list[dict[str, Any]], round_: int) -> dict[str, float]:
    rows = [
        (round_, i, c["repository"], c["id"], c["message"], c["author_email"], c["timestamp"])
        for i, c in enumerate(commits)
    ]
    with psycopg.connect(url) as conn:
        started = time.perf_counter()
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY baseline_commits (release_id, ord, repository, commit_key, message, author_email, "
                "date_added) FROM STDIN"
            ) as copy,
        ):
            for row in rows:
                copy.write_row(row)
        conn.commit()
        copied = time.perf_counter() - started
        started = time.perf_counter()
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO baseline_commits VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [(r[0] + 1_000_000, *r[1:]) for r in rows],
            )
        conn.commit()
        inserted = time.perf_counter() - started
    return {"copy_s": copied, "insert_s": inserted}


def measure(commits: int = 10_000, rounds: int = 3, workers: int = 2) -> Pair:
    with production("eventry_bench_set_commits") as dep:
        with psycopg.connect(dep.database_url, autocommit=True) as conn:
            conn.execute(BASELINE_DDL)
        slug = f"bench-{secrets.token_hex(3)}"
        dep.cli("orgs", "create", slug)
        token = dep.token(slug, "project:read,project:write,project:releases")
        headers = {"Authorization": f"Bearer {token}"}
        measured: list[dict[str, float]] = []
        baseline: list[dict[str, float]] = []
        with worker(dep), serve(dep, workers) as port:
            (project,) = create_projects(port, slug, token, ["app"])
            settle(dep)
            lists = [commit_list(commits, n) for n in range(rounds)]

            def eventry_round() -> None:
                n = len(measured)
                measured.append(measure_eventry(port, slug, project, headers, lists[n], n))

            def baseline_round() -> None:
                n = len(baseline)
                baseline.append(measure_baseline(dep.database_url, lists[n], n))

            alternate(rounds, eventry_round, baseline_round, lambda: settle(dep))
    best = {k: min(r[k] for r in measured) for k in measured[0]}
    base = {k: min(r[k] for r in baseline) for k in baseline[0]}
    details = [
        f"PUT releases/{{version}}/ with {commits} commits until GET .../commits/ shows them, vs the "
        f"same rows in one COPY and in one batched INSERT; {workers} gunicorn workers, best of {rounds} "
        "(median in brackets)"
    ]
    for name, value in (*best.items(), *base.items()):
        runs = [r[name] for r in (measured if name in best else baseline)]
        details.append(f"{name:<10} {value * 1000:9.1f} ms  [{statistics.median(runs) * 1000:.1f} ms]")
    details.append(f"ratio request/COPY {best['request_s'] / base['copy_s']:.1f}x, "
                   f"visible/COPY {best['visible_s'] / base['copy_s']:.1f}x")  # fmt: skip
    return Pair(
        NAME,
        best["visible_s"] / base["insert_s"],
        best["visible_s"],
        base["insert_s"],
        "s",
        GOAL,
        ratio_means="eventry time until readable / batched INSERT time (lower is better)",
        details=details,
        extra={"request_s": best["request_s"], "copy_s": base["copy_s"]},
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--commits", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print(measure(args.commits, args.rounds, args.workers).render())


if __name__ == "__main__":
    main()
