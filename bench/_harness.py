"""Shared pieces of the benchmarks: a scratch PostgreSQL database, eventry deployed as in
production (``eventry worker`` and ``eventry serve --workers N``), baselines served by the same
gunicorn worker class, and a closed-loop HTTP load generator (the same for eventry and its
baseline)."""

from __future__ import annotations

import http.client
import json
import math
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from bench._cpu import backends, tree_cpu
from bench._private_servers import free_port

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get("EVENTRY_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("EVENTRY_BENCH_REDIS", "redis://127.0.0.1:6379/2")


@contextmanager
def scratch_database(name: str) -> Iterator[str]:
    """A new database for this run (the name gets this process's id: benchmarks run side by side)."""
    name = f"{name}_{os.getpid()}"
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
            deadline = time.monotonic() + 60  # a loaded machine starts servers slowly
            while True:
                try:
                    urllib.request.urlopen(health_url, timeout=1).close()
                    break
                except OSError as exc:
                    if getattr(exc, "code", None):  # any HTTP answer means it is up
                        break
                    if time.monotonic() > deadline or proc.poll() is not None:
                        said = log.read_text(errors="replace")[-2000:] if log else ""
                        raise RuntimeError(f"{args} did not start; its output ends:\n{said}") from exc
                    time.sleep(0.2)
        yield proc
    finally:
        proc.terminate()
        proc.wait(15)
        if out:
            out.close()


def eventry(*args: str) -> list[str]:
    return [sys.executable, "-m", "api.cli", *args]


def cli(env: dict[str, str], *args: str) -> str:
    """Run an ``eventry`` command to completion; its standard output."""
    done = subprocess.run(eventry(*args), env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"eventry {' '.join(args)} exited {done.returncode}: {done.stderr[-1500:]}")
    return done.stdout


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


def load(
    port: int, make: Request, seconds: float, clients: int, cpu: Callable[[], float] | None = None
) -> dict[str, float]:
    """``clients`` threads, each on a keep-alive connection, sending requests for ``seconds``;
    with ``cpu`` (a reading of CPU seconds), also the CPU milliseconds a request cost."""
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

    before = cpu() if cpu else 0.0
    elapsed = run_clients(clients, seconds, client)
    result = figures(latencies, elapsed, errors[0])
    if cpu and latencies:
        result["cpu_ms"] = (cpu() - before) * 1000 / len(latencies)
    return result


def call(
    port: int, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], Any]:
    """One request on a new connection (``body`` as JSON, or bytes sent as they are): the status,
    the headers (lower-case names) and the decoded JSON answer."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        data = body if isinstance(body, bytes) else None if body is None else json.dumps(body)
        conn.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
        response = conn.getresponse()
        payload = json.loads(response.read() or b"null")
        return response.status, {k.lower(): v for k, v in response.getheaders()}, payload
    finally:
        conn.close()


def create_projects(port: int, org: str, token: str, names: list[str]) -> list[str]:
    """Projects made over HTTP (a command-line process each would take seconds); their slugs."""
    slugs = []
    for name in names:
        status, _, body = call(port, "POST", f"/api/0/organizations/{org}/projects/", {"name": name},
                               {"Authorization": f"Bearer {token}"})  # fmt: skip
        if status != 201:
            raise RuntimeError(f"project {name!r} not created: {status} {body}")
        slugs.append(body["slug"])
    return slugs


def alternate(
    rounds: int, subject: Callable[[], object], baseline: Callable[[], object], between: Callable[[], None]
) -> None:
    """``rounds`` of each side, alternating which goes first so that drift of the shared
    machine falls on both; ``between`` runs between two sides (let the worker catch up)."""
    sides = [
        side for n in range(rounds) for side in ((subject, baseline) if n % 2 == 0 else (baseline, subject))
    ]
    for n, side in enumerate(sides):
        if n:
            between()
        side()


@dataclass
class Production:
    """A scratch deployment: database, directory, and the environment of its processes."""

    database_url: str
    env: dict[str, str]  # for the command line: quiet logs
    serve_env: dict[str, str]  # for servers and the worker: production's log level
    scratch: Path
    pids: list[int] = field(default_factory=list)  # processes running for it now

    def cpu(self) -> float:
        """CPU seconds so far of its processes and its database's backends (see bench/_cpu.py)."""
        return tree_cpu([*self.pids, *backends(self.database_url)])

    def cli(self, *args: str) -> str:
        return cli(self.env, *args)

    def token(self, org: str, scopes: str) -> str:
        return self.cli("tokens", "create", "--org", org, "--scopes", scopes).strip().splitlines()[-1]

    @property
    def log(self) -> Path:
        return self.scratch / "servers.log"


@contextmanager
def production(name: str, **extra: str) -> Iterator[Production]:
    """A scratch database on the shared PostgreSQL, the shared Redis, a scratch data directory,
    Prometheus' multi-process directory, a shared secret: what ``eventry serve --workers N``
    runs with in production. Migrated; nothing is running yet."""
    with scratch_database(name) as url, tempfile.TemporaryDirectory(prefix=f"{name}-") as tmp:
        scratch = Path(tmp)
        (scratch / "metrics").mkdir()
        serve_env = bench_env(
            DATABASE_URL=url,
            REDIS_URL=REDIS_URL,
            EVENTRY_DATA_DIR=str(scratch / "var"),
            EVENTRY_SECRET_KEY=secrets.token_urlsafe(32),
            PROMETHEUS_MULTIPROC_DIR=str(scratch / "metrics"),
            **extra,
        )
        serve_env.pop("EVENTRY_LOG_LEVEL")  # production logs a line a request at INFO
        env = {**serve_env, "EVENTRY_LOG_LEVEL": "WARNING"}
        cli(env, "migrate")
        yield Production(url, env, serve_env, scratch)


@contextmanager
def running(
    dep: Production, args: list[str], env: dict[str, str], health_url: str | None = None
) -> Iterator[None]:
    """``process`` counted in the deployment's CPU while it runs."""
    with process(args, env, health_url, log=dep.log) as proc:
        dep.pids.append(proc.pid)
        try:
            yield
        finally:
            dep.pids.remove(proc.pid)


@contextmanager
def worker(dep: Production) -> Iterator[None]:
    with running(dep, eventry("worker"), dep.serve_env):
        yield


@contextmanager
def serve(dep: Production, workers: int) -> Iterator[int]:
    """``eventry serve --workers N`` on a free port; yields the port."""
    port = free_port()
    argv = eventry("serve", "--port", str(port), "--workers", str(workers))
    with running(dep, argv, dep.serve_env, f"http://127.0.0.1:{port}/healthz"):
        yield port


@contextmanager
def serve_baseline(dep: Production, app: str, workers: int, **extra: str) -> Iterator[int]:
    """``app`` (an ASGI app, e.g. a Flask app behind ``api.asgi.threaded``) served exactly as
    ``eventry serve`` serves eventry: the same gunicorn command, worker class and settings."""
    from api.server import gunicorn_argv
    from infra.config import Settings

    port = free_port()
    settings = Settings(database_url=dep.database_url, redis_url=REDIS_URL)
    argv = gunicorn_argv("127.0.0.1", port, workers, settings)
    assert argv[-1] == "api.wsgi:asgi_app", argv  # eventry's app, replaced by the baseline's
    argv[-1] = app
    env = {**dep.serve_env, **extra}
    with running(dep, argv, env, f"http://127.0.0.1:{port}/"):
        yield port


def settle(dep: Production, timeout: float = 60) -> None:
    """Wait, bounded, until every view has reached the head of the log, so that one side's
    backlog is not folded during the other side's run (said on standard error if it was)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            rows = json.loads(dep.cli("projections", "status", "--json"))
        except RuntimeError as exc:  # e.g. the shared server out of connections for a moment
            rows, failure = [], str(exc)
        else:
            failure = ""
            if all(int(r["lag"]) == 0 for r in rows):
                return
        if time.monotonic() > deadline:
            behind = {r["name"]: r["lag"] for r in rows if int(r["lag"])}
            print(f"views not caught up after {timeout:.0f}s, going on: {behind or failure}", file=sys.stderr)
            return
        time.sleep(0.5)
