"""Slow clients against ``eventry serve --workers N``: latency of /healthz and of a write while
N connections trickle their requests, against the same requests with no slow client.

Half of the slow connections never finish their headers; the other half send a PUT announcing
``Content-Length: 100000`` and then one byte at a time. Each sends one more byte every second, so
no idle timeout alone would drop it. Loopback only, bounded in time (each phase a fixed number
of requests with a timeout each). Prints p50/p99/max latency per phase (before, during and after
the slow connections), the ratio of the p99s, and how long the server took to drop the slow
connections. Exit status 1 if a request failed or a slow connection was still open after the
drop deadline.

    python bench/slow_clients.py [--slow 200] [--requests 40] [--workers 2] [--embedded]
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import secrets
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._harness import REDIS_URL, bench_env, cli, eventry, process, scratch_database
from bench._private_servers import free_port

HEADER_START = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Trickle: "
BODY_START = (
    b"PUT /api/0/projects/slow/api/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
)
REQUEST_TIMEOUT = 30.0


class Trickler:
    """``count`` connections sending their requests one byte per ``interval`` seconds (half
    headers that never end, half a 100000-byte body), from one thread, until closed; notes when
    the server dropped each and what it answered."""

    def __init__(self, port: int, count: int, interval: float = 1.0) -> None:
        self.port, self.count, self.interval = port, count, interval
        self.sockets: list[socket.socket] = []
        self.dropped: dict[int, float] = {}  # connection index -> seconds after opening
        self.answers: dict[int, bytes] = {}
        self.kind: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._trickle, daemon=True)

    def __enter__(self) -> Trickler:
        self.started = time.monotonic()
        for i in range(self.count):
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
            sock.setblocking(False)
            body = i % 2 == 1
            sock.sendall(BODY_START if body else HEADER_START)
            self.kind.append("body" if body else "headers")
            self.sockets.append(sock)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        for sock in self.sockets:
            sock.close()

    @property
    def open(self) -> int:
        return self.count - len(self.dropped)

    def wait_dropped(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.open and time.monotonic() < deadline:
            time.sleep(0.2)
        return not self.open

    def _trickle(self) -> None:
        while not self._stop.wait(self.interval):
            for i, sock in enumerate(self.sockets):
                if i not in self.dropped:
                    self._one_byte(i, sock)

    def _one_byte(self, i: int, sock: socket.socket) -> None:
        try:
            answer = sock.recv(4096)
        except BlockingIOError:
            try:
                sock.send(b"a" if self.kind[i] == "headers" else b" ")
                return
            except OSError:
                answer = b""
        except OSError:
            answer = b""
        self.answers[i] = answer
        self.dropped[i] = time.monotonic() - self.started


@dataclass
class Target:
    port: int
    token: str
    org: str = "slow"
    project: str = "api"

    def healthz(self) -> int:
        return self._request("GET", "/healthz", None)

    def write(self, n: int) -> int:
        body = {"operationType": "blockMetric", "metricMri": f"c:custom/slow{n}@none"}
        return self._request("PUT", f"/api/0/projects/{self.org}/{self.project}/metrics/visibility/", body)

    def _request(self, method: str, path: str, body: object) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
        try:
            headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
            conn.request(method, path, json.dumps(body) if body is not None else None, headers)
            response = conn.getresponse()
            response.read()
            return response.status
        finally:
            conn.close()


def timed(target: Target, requests: int) -> tuple[list[float], int]:
    """Alternating /healthz and writes, one at a time: their latencies and how many failed."""
    latencies, failures = [], 0
    for n in range(requests):
        started = time.perf_counter()
        try:
            ok = (target.healthz() if n % 2 == 0 else target.write(n)) == 200
        except (OSError, http.client.HTTPException):
            ok = False
        latencies.append(time.perf_counter() - started)
        failures += not ok
    return latencies, failures


def summary(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "p50_ms": ordered[len(ordered) // 2] * 1000,
        "p99_ms": ordered[math.ceil(len(ordered) * 0.99) - 1] * 1000,
        "max_ms": ordered[-1] * 1000,
    }


@contextmanager
def deployment(workers: int, embedded: bool, data_dir: Path) -> Iterator[Target]:
    """``eventry serve --workers N`` (+ ``eventry worker``) with an organization, a project and
    a token; on a scratch PostgreSQL database and Redis unless ``embedded``."""
    with scratch_database(f"eventry_slow_{secrets.token_hex(3)}") as database_url:
        extra = {} if embedded else {"DATABASE_URL": database_url, "REDIS_URL": REDIS_URL}
        env = bench_env(EVENTRY_DATA_DIR=str(data_dir), **extra)
        if not embedded:
            cli(env, "migrate")
        cli(env, "orgs", "create", "slow")
        cli(env, "projects", "create", "--org", "slow", "api")
        token = cli(env, "tokens", "create", "--org", "slow", "--scopes", "project:write").split()[-1]
        port = free_port()
        serve = eventry("serve", "--port", str(port), "--workers", str(1 if embedded else workers))
        log = data_dir / "server.log"
        with process(serve, env, f"http://127.0.0.1:{port}/healthz", log=log):
            if embedded:
                yield Target(port, token)
            else:
                with process(eventry("worker"), env, log=log):
                    yield Target(port, token)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slow", type=int, default=200, help="slow connections")
    parser.add_argument("--requests", type=int, default=40, help="timed requests per phase")
    parser.add_argument("--workers", type=int, default=2, help="(the embedded default runs one)")
    parser.add_argument("--embedded", action="store_true", help="the embedded default (SQLite)")
    parser.add_argument("--drop-within", type=float, default=60.0, help="seconds the server may take")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as data_dir,
        deployment(args.workers, args.embedded, Path(data_dir)) as t,
    ):
        timed(t, 10)  # warm-up: the first requests pay for connections and caches
        calm, calm_failures = timed(t, args.requests)
        with Trickler(t.port, args.slow) as slow:
            loaded, loaded_failures = timed(t, args.requests)
            still_open = slow.open
            all_dropped = slow.wait_dropped(args.drop_within)
            drops = sorted(slow.dropped.values())
            answered_408 = sum(1 for a in slow.answers.values() if a.startswith(b"HTTP/1.1 408"))
        after, after_failures = timed(t, args.requests)
    figures = {"calm": summary(calm), "slow": summary(loaded), "after": summary(after)}
    calmest = min(figures["calm"]["p99_ms"], figures["after"]["p99_ms"])
    store = "embedded" if args.embedded else "PostgreSQL"
    print(f"{args.slow} slow connections, {1 if args.embedded else args.workers} workers, {store}")
    for phase, f in figures.items():
        print(f"  {phase:<5} p50 {f['p50_ms']:7.2f} ms  p99 {f['p99_ms']:7.2f} ms  max {f['max_ms']:7.2f} ms")
    print(f"  ratio p99 slow/calm (the calmer of before, after): {figures['slow']['p99_ms'] / calmest:.2f}")
    print(f"  failed requests: calm {calm_failures}, slow {loaded_failures}, after {after_failures}")
    print(f"  slow connections still open after the timed requests: {still_open}/{args.slow}")
    if drops:
        print(f"  dropped by the server after {drops[0]:.1f}-{drops[-1]:.1f} s ({answered_408} answered 408)")
    print(json.dumps({**figures, "still_open": still_open, "dropped_all": all_dropped}))
    return 0 if all_dropped and not (calm_failures or loaded_failures or after_failures) else 1


if __name__ == "__main__":
    sys.exit(main())
