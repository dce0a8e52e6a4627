"""SetCommits of 10,000 commits through HTTP on PostgreSQL, side by side with a baseline that
writes the same 10,000 rows straight into PostgreSQL (one COPY, and one batched INSERT).

eventry runs as in production (``eventry serve`` with DATABASE_URL and REDIS_URL, plus
``eventry worker``). Two figures per round: the PUT's latency (validation, decision, one
append of the events) and the time until the commit list is readable from the view (the
projection's batched writes). The baselines do only the row writes, so the ratios show what
the event-sourced path costs over bare inserts.

    python bench/set_commits.py [--commits 10000] [--rounds 3]
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
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._harness import REDIS_URL, bench_env, cli, eventry, process, scratch_database

PORT = 8793
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


def request(method: str, path: str, body: Any, headers: dict[str, str]) -> tuple[int, dict[str, str], Any]:
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=120)
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = conn.getresponse()
    payload = json.loads(response.read() or b"null")
    conn.close()
    return response.status, dict(response.getheaders()), payload


def measure_eventry(
    slug: str, headers: dict[str, str], commits: list[dict[str, Any]], round_: int
) -> dict[str, float]:
    version = f"bench-{round_}"
    status, _, body = request(
        "POST", f"/api/0/organizations/{slug}/releases/", {"version": version, "projects": ["app"]}, headers
    )
    assert status == 201, body
    started = time.perf_counter()
    status, reply, body = request(
        "PUT", f"/api/0/organizations/{slug}/releases/{version}/", {"commits": commits}, headers
    )
    answered = time.perf_counter() - started
    assert status == 200 and body["commitCount"] == len(commits), (status, body)
    position = reply.get("X-Eventry-Position") or reply.get("x-eventry-position")
    wait = {**headers, "X-Eventry-Min-Position": str(position)}
    while True:
        status, _, rows = request(
            "GET", f"/api/0/organizations/{slug}/releases/{version}/commits/?per_page=1", None, wait
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--commits", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    with scratch_database("eventry_bench_set_commits") as url:
        env = bench_env(DATABASE_URL=url, REDIS_URL=REDIS_URL)
        cli(env, "migrate")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(BASELINE_DDL)
        slug = f"bench-{secrets.token_hex(3)}"
        cli(env, "orgs", "create", slug)
        cli(env, "projects", "create", "--org", slug, "app")
        token = (
            cli(env, "tokens", "create", "--org", slug, "--scopes", "project:releases")
            .strip()
            .splitlines()[-1]
        )
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        measured, baseline = [], []
        with (
            process(eventry("worker"), env),
            process(eventry("serve", "--port", str(PORT)), env, f"http://127.0.0.1:{PORT}/healthz"),
        ):
            for round_ in range(args.rounds):  # alternate, so both see the same machine state
                commits = commit_list(args.commits, round_)
                measured.append(measure_eventry(slug, headers, commits, round_))
                baseline.append(measure_baseline(url, commits, round_))

    best = {k: min(r[k] for r in measured) for k in measured[0]}
    base = {k: min(r[k] for r in baseline) for k in baseline[0]}
    print(
        f"\nSetCommits of {args.commits} commits on PostgreSQL "
        f"(best of {args.rounds} rounds; median in brackets)"
    )
    for name, value in (*best.items(), *base.items()):
        runs = [r[name] for r in (measured if name in best else baseline)]
        print(f"  {name:<10} {value * 1000:9.1f} ms  [{statistics.median(runs) * 1000:.1f} ms]")
    print(f"  ratio request/COPY:           {best['request_s'] / base['copy_s']:.1f}x")
    print(f"  ratio visible/COPY:           {best['visible_s'] / base['copy_s']:.1f}x")
    print(f"  ratio visible/batched INSERT: {best['visible_s'] / base['insert_s']:.1f}x")
    print(json.dumps({"measured": measured, "baseline": baseline}))


if __name__ == "__main__":
    main()
