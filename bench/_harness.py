"""Shared pieces of the benchmarks: a scratch PostgreSQL database, servers as subprocesses,
and a closed-loop HTTP load generator (the same for the measured service and its baseline)."""

from __future__ import annotations

import http.client
import json
import math
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get("EVENTRY_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("EVENTRY_BENCH_REDIS", "redis://127.0.0.1:6379/2")


@contextmanager
def scratch_database(name: str) -> Iterator[str]:
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def bench_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTRY_")}
    env.update(PYTHONPATH=str(ROOT), EVENTRY_LOG_LEVEL="WARNING", **extra)
    return env


@contextmanager
def process(
    args: list[str], env: dict[str, str], health_url: str | None = None, log: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """``args`` running until the block ends; output appended to ``log``, or dropped."""
    out = log.open("ab") if log else None
    sink = out or subprocess.DEVNULL
    proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=sink, stderr=sink)
    try:
        if health_url:
            deadline = time.monotonic() + 30
            while True:
                try:
                    urllib.request.urlopen(health_url, timeout=1).close()
                    break
                except OSError as exc:
                    if getattr(exc, "code", None):  # any HTTP answer means it is up
                        break
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise RuntimeError(f"{args} did not start") from exc
                    time.sleep(0.2)
        yield proc
    finally:
        proc.terminate()
        proc.wait(15)
        if out:
            out.close()


def eventry(*args: str) -> list[str]:
    return [sys.executable, "-m", "api.cli", *args]


def gunicorn(workers: int, port: int, app: str) -> list[str]:
    """The same server for the measured service and its baseline: sync workers, quiet logs."""
    return [
        sys.executable, "-m", "gunicorn", "-w", str(workers), "-k", "sync", "--log-level", "warning",
        "-b", f"127.0.0.1:{port}", app,
    ]  # fmt: skip


def cli(env: dict[str, str], *args: str) -> str:
    """Run an ``eventry`` command to completion; its standard output."""
    return subprocess.run(eventry(*args), env=env, check=True, capture_output=True, text=True).stdout


Request = Callable[[int, int], tuple[str, str, bytes, dict[str, str]]]


def run_clients(clients: int, seconds: float, client: Callable[[int, float], None]) -> float:
    """Run ``client(index, stop)`` in ``clients`` threads until the monotonic time ``stop``
    (``seconds`` from now); returns the elapsed seconds."""
    stop = time.monotonic() + seconds
    threads = [threading.Thread(target=client, args=(i, stop)) for i in range(clients)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.monotonic() - began


def figures(latencies: list[float], elapsed: float, errors: int) -> dict[str, float]:
    """Throughput and p50/p99 latency (ms) of requests that took ``latencies`` seconds."""
    latencies = sorted(latencies)
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000 if latencies else 0.0,
        "p99_ms": latencies[math.ceil(len(latencies) * 0.99) - 1] * 1000 if latencies else 0.0,
        "errors": errors,
    }


def load(port: int, make: Request, seconds: float, clients: int) -> dict[str, float]:
    """``clients`` threads, each on a keep-alive connection, sending requests for ``seconds``."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def client(index: int, stop: float) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        n = 0
        while time.monotonic() < stop:
            method, path, body, headers = make(index, n)
            started = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status >= 400:
                    errors[0] += 1
            except (OSError, http.client.HTTPException):
                errors[0] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            mine.append(time.perf_counter() - started)
            n += 1
        with lock:
            latencies.extend(mine)

    elapsed = run_clients(clients, seconds, client)
    return figures(latencies, elapsed, errors[0])


def report(title: str, measured_runs: list[dict[str, float]], baseline_runs: list[dict[str, float]]) -> None:
    """Print the best run of each side and their throughput ratio."""
    measured = max(measured_runs, key=lambda r: r["rps"])
    baseline = max(baseline_runs, key=lambda r: r["rps"])
    print(f"\n{title} (best of {len(measured_runs)} rounds)")
    for name, figures in (("eventry", measured), ("baseline", baseline)):
        print(
            f"  {name:<9} {figures['rps']:8.1f} req/s  p50 {figures['p50_ms']:6.2f} ms  "
            f"p99 {figures['p99_ms']:6.2f} ms  errors {int(figures['errors'])}  "
            f"({int(figures['requests'])} requests)"
        )
    print(f"  ratio eventry/baseline throughput: {measured['rps'] / baseline['rps']:.2f}")
    print(json.dumps({"measured": measured, "baseline": baseline}))
