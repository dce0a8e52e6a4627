"""Past one machine, on loopback: a read replica, a Redis Cluster and failover (issue #16).

Starts its own servers (tests/replication.py: a PostgreSQL primary and a ``pg_basebackup``
replica, a 3-master Redis Cluster), so it runs from a clean clone with nothing running, and
runs eventry as in production on them: ``eventry migrate``, two ``eventry worker`` processes,
``eventry serve`` with ``DATABASE_REPLICA_URL`` and ``EVENTRY_REDIS_CLUSTER=yes``. Then:

1. write and read throughput with one API process, then with two (on this 2-core machine the
   second process competes with the first, the database and the worker for the same cores: it
   shows its cost, not a gain);
2. read-your-writes through the replica: each client renames its project and reads it back at
   once with the same token (and another token reads with ``X-Eventry-Min-Position``); every
   answer that does not show the write is a violation; the replica's lag sampled meanwhile;
3. relay configs of 100 keys fetched from the cluster, each equal to the view's document;
4. the active worker SIGKILLed under writes: seconds until the standby has the views at the
   head the log had at the kill, then every view compared with a full rebuild;
5. two billing consumers in one group, one SIGKILLed half-way: outcomes lost and duplicated.

    python bench/scale.py [--seconds 5] [--clients 4] [--json]

The last line with ``--json`` is one JSON object of the figures. Exits 1 if a read missed a
write, a relay config is wrong, the failover took 10 s or more, a view differs from its
rebuild, or a billing outcome was lost or duplicated.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sentry_relay import generate_key_pair

from bench._harness import bench_env, call, cli, create_projects, eventry, load, process
from commands.billing import TRANSACTIONS_USAGE
from infra.billing import BillingStreams
from infra.bootstrap import Services, bootstrap
from infra.config import Settings
from infra.relay_cache import RelayConfigCache
from infra.replica import LagMeter
from projections import relay_configs
from tests.integration.test_serve import free_port
from tests.replication import Cluster, Replicated, primary_and_replica, redis_cluster

SCOPES = "project:read,project:write,project:admin,org:read,org:write"
FAILOVER_LIMIT = 10.0


class Deployment:
    def __init__(self, pg: Replicated, cluster: Cluster, scratch: Path) -> None:
        self.relay_secret, self.relay_public = generate_key_pair()
        (scratch / "metrics").mkdir()
        self.env = bench_env(
            DATABASE_URL=pg.primary.url,
            DATABASE_REPLICA_URL=pg.replica.url,
            REDIS_URL=cluster.url,
            EVENTRY_REDIS_CLUSTER="yes",
            EVENTRY_DATA_DIR=str(scratch / "var"),
            EVENTRY_SECRET_KEY=secrets.token_urlsafe(32),
            EVENTRY_INTERNAL_RELAYS=str(self.relay_public),
            PROMETHEUS_MULTIPROC_DIR=str(scratch / "metrics"),
        )
        self.pg, self.scratch = pg, scratch
        self.workers: list[subprocess.Popen[bytes]] = []
        self.settings = Settings.from_env(self.env)
        cli(self.env, "migrate")
        self.org = f"scale-{secrets.token_hex(3)}"
        cli(self.env, "orgs", "create", self.org)
        token = cli(self.env, "tokens", "create", "--org", self.org, "--scopes", SCOPES)
        self.token = token.strip().splitlines()[-1]
        self.headers = {"Authorization": f"Bearer {self.token}"}

    def worker_log(self, n: int) -> Path:
        return self.scratch / f"worker-{n}.log"

    @contextlib.contextmanager
    def serve(self, workers: int) -> Iterator[int]:
        port = free_port()
        argv = eventry("serve", "--port", str(port), "--workers", str(workers))
        with process(argv, self.env, f"http://127.0.0.1:{port}/healthz", log=self.scratch / "serve.log"):
            yield port


def throughput(
    dep: Deployment, port: int, slugs: list[str], seconds: float, clients: int
) -> dict[str, float]:
    def write(index: int, n: int) -> tuple[str, str, bytes, dict[str, str]]:
        body = json.dumps({"name": f"Load {index} {n}"}).encode()
        path = f"/api/0/projects/{dep.org}/{slugs[index]}/"
        return "PUT", path, body, {**dep.headers, "Content-Type": "application/json"}

    def read(index: int, n: int) -> tuple[str, str, bytes, dict[str, str]]:
        return "GET", f"/api/0/projects/{dep.org}/{slugs[index]}/", b"", dep.headers

    writes = load(port, write, seconds, clients)
    reads = load(port, read, seconds, clients)
    return {
        "write_rps": writes["rps"],
        "read_rps": reads["rps"],
        "errors": writes["errors"] + reads["errors"],
    }


def read_your_writes(dep: Deployment, port: int, slugs: list[str], rounds: int) -> dict[str, Any]:
    """Each client renames its project and reads it back at once; a reader token asks for the
    write's position. Meanwhile the replica's lag is sampled every 10 ms."""
    reader = cli(dep.env, "tokens", "create", "--org", dep.org, "--scopes", "project:read")
    reader_headers = {"Authorization": f"Bearer {reader.strip().splitlines()[-1]}"}
    violations, others, checked, lags = [0], [0], [0], []
    stop = threading.Event()
    meter = LagMeter(dep.settings.postgres_conninfo(), dep.settings.replica_conninfo() or "")

    def sample() -> None:
        while not stop.wait(0.01):
            lag = meter.sample()
            lags.append(float("inf") if lag is None else lag)

    def client(index: int) -> None:
        path = f"/api/0/projects/{dep.org}/{slugs[index]}/"
        for n in range(rounds):
            name = f"Ryw {index} {n}"
            status, headers, _ = call(port, "PUT", path, {"name": name}, dep.headers)
            if status != 200:
                raise RuntimeError(f"write failed: {status}")
            own = call(port, "GET", path, None, dep.headers)[2]
            min_position = {**reader_headers, "X-Eventry-Min-Position": headers["x-eventry-position"]}
            other = call(port, "GET", path, None, min_position)[2]
            checked[0] += 2
            violations[0] += own.get("name") != name
            others[0] += other.get("name") != name

    sampler = threading.Thread(target=sample)
    sampler.start()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(slugs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    sampler.join()
    meter.close()
    lags.sort()
    p99 = lags[math.ceil(len(lags) * 0.99) - 1] * 1000 if lags else None
    return {
        "replica_ryw_reads": checked[0],
        "replica_ryw_violations": violations[0],
        "replica_min_position_violations": others[0],
        "replica_lag_p99_ms": p99,
    }


class HttpRelay:
    """Relay's signed requests over HTTP (the shape tests/relay_client.py's client expects)."""

    def __init__(self, port: int) -> None:
        self.port = port

    def post(self, path: str, data: bytes, headers: dict[str, str]) -> Any:
        status, _, body = call(self.port, "POST", path, data, headers)
        return type("Answer", (), {"status_code": status, "get_json": lambda self: body})()


def relay_configs_ok(dep: Deployment, svc: Services, port: int, slug: str) -> dict[str, Any]:
    from tests.relay_client import RelayClient

    keys = []
    for _ in range(100):
        status, _, body = call(
            port, "POST", f"/api/0/projects/{dep.org}/{slug}/keys/", {"name": "k"}, dep.headers
        )
        if status != 201:
            raise RuntimeError(f"key not created: {status} {body}")
        keys.append(body["public"])
    relay = RelayClient(HttpRelay(port))  # type: ignore[arg-type]
    relay.secret, relay.public = dep.relay_secret, dep.relay_public
    if relay.register().status_code != 200:
        raise RuntimeError("the relay did not register")
    svc.engine.wait(svc.store.head(), ["relay_configs"], timeout=60)
    answer = relay.project_configs({"publicKeys": keys, "fullConfig": True}, 3)
    configs = answer.get_json()["configs"]
    with svc.engine.read("relay_configs") as view:
        stored = relay_configs.documents(view, keys)
    cached = RelayConfigCache(svc.redis).read(keys)
    wrong = 0
    for k in keys:
        doc = dict(configs.get(k) or {})
        doc.pop("lastFetch", None)
        wrong += doc != json.loads(stored.get(k, "null")) or k not in cached
    return {
        "cluster_relay_configs": len(keys),
        "cluster_relay_configs_ok": wrong == 0 and answer.status_code == 200,
    }


def failover(dep: Deployment, svc: Services, port: int, slugs: list[str]) -> dict[str, Any]:
    """Kill the active worker while clients write; seconds until the standby shows the head."""
    logs = [dep.worker_log(0), dep.worker_log(1)]
    active = next((i for i, log in enumerate(logs) if "worker is active" in log.read_text()), None)
    if active is None:
        raise RuntimeError("no worker is active")
    stop = threading.Event()

    def writer(index: int) -> None:
        n = 0
        while not stop.is_set():
            call(port, "PUT", f"/api/0/projects/{dep.org}/{slugs[index]}/", {"name": f"F {n}"}, dep.headers)
            n += 1

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(len(slugs))]
    for t in threads:
        t.start()
    time.sleep(1.0)
    dep.workers[active].send_signal(signal.SIGKILL)
    killed = time.monotonic()
    head = svc.store.head()
    deadline = killed + 60
    while min(svc.engine.positions().values()) < head and time.monotonic() < deadline:
        time.sleep(0.01)
    took = time.monotonic() - killed
    time.sleep(1.0)
    stop.set()
    for t in threads:
        t.join()
    svc.engine.wait(svc.store.head(), timeout=60)
    differ = []
    for name in svc.engine.projections:
        followed = svc.engine.dump(name)
        svc.engine.rebuild(name)
        if svc.engine.dump(name) != followed:
            differ.append(name)
    return {"worker_failover_s": took, "views_differing_from_rebuild": differ}


def billing(dep: Deployment, svc: Services, total: int) -> dict[str, Any]:
    tag = secrets.token_hex(3)
    names = BillingStreams(f"{{b{tag}}}metrics", "billing", f"{{b{tag}}}outcomes", f"{{b{tag}}}dlq")
    r = svc.redis
    ids = []
    for n in range(1, total + 1):
        value = {
            "version": 2, "mapping_meta": {"c": {str(TRANSACTIONS_USAGE): "c:transactions/usage@none"}},
            "metric_id": TRANSACTIONS_USAGE, "org_id": 1, "project_id": 1, "retention_days": 90,
            "tags": {}, "timestamp": 1677512412, "type": "c", "use_case_id": "transactions", "value": n,
        }  # fmt: skip
        ids.append(r.xadd(names.input, {"value": json.dumps(value)}).decode())
    args = ["--input-stream", names.input, "--group", names.group, "--outcomes-stream", names.outcomes]
    args += ["--dead-letter-stream", names.dead_letter, "--claim-idle-ms", "1000"]
    consumers = [
        process(eventry("consume", "billing-metrics", *args, "--consumer", f"c{i}"), dep.env) for i in (0, 1)
    ]
    with consumers[0] as victim, consumers[1]:
        deadline = time.monotonic() + 120
        while r.xlen(names.outcomes) < total // 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        victim.send_signal(signal.SIGKILL)
        while time.monotonic() < deadline:
            if r.xlen(names.outcomes) >= total and r.xpending(names.input, names.group)["pending"] == 0:
                break
            time.sleep(0.05)
        time.sleep(0.5)
    sources = [f[b"source"].decode() for _, f in r.xrange(names.outcomes)]
    return {
        "billing_messages": total,
        "billing_lost": len(set(ids) - set(sources)),
        "billing_duplicated": len(sources) - len(set(sources)),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=50, help="write-then-read rounds per client")
    parser.add_argument("--billing", type=int, default=2000, help="billing messages")
    parser.add_argument("--json", action="store_true")
    opts = parser.parse_args()
    result: dict[str, Any] = {}
    with (
        primary_and_replica() as pg,
        redis_cluster() as cluster,
        tempfile.TemporaryDirectory(prefix="eventry-scale-") as tmp,
    ):
        dep = Deployment(pg, cluster, Path(tmp))
        svc = bootstrap(dep.settings, create_tables=False)
        worker_env = {**dep.env, "EVENTRY_LOG_LEVEL": "INFO", "EVENTRY_LOG_FORMAT": "text"}
        with contextlib.ExitStack() as stack:
            dep.workers = [
                stack.enter_context(process(eventry("worker"), worker_env, log=dep.worker_log(n)))
                for n in (0, 1)
            ]
            for api_processes in (1, 2):
                with dep.serve(api_processes) as port:
                    if api_processes == 1:
                        names = [f"Scale {i}" for i in range(opts.clients)]
                        slugs = create_projects(port, dep.org, dep.token, names)
                        load(port, lambda i, n: ("GET", "/healthz", b"", {}), 1, 1)
                    figures = throughput(dep, port, slugs, opts.seconds, opts.clients)
                    for key, value in figures.items():
                        result[f"{key}_{api_processes}_api"] = value
                    if api_processes == 2:
                        result.update(read_your_writes(dep, port, slugs, opts.rounds))
                        result.update(relay_configs_ok(dep, svc, port, slugs[0]))
                        result.update(failover(dep, svc, port, slugs))
        result.update(billing(dep, svc, opts.billing))
        svc.close()
    result["cores"] = _cores()
    result["write_ratio_2_vs_1_api"] = result["write_rps_2_api"] / max(result["write_rps_1_api"], 1e-9)
    result["read_ratio_2_vs_1_api"] = result["read_rps_2_api"] / max(result["read_rps_1_api"], 1e-9)
    result["note"] = (
        f"on {result['cores']} cores a second API process competes with the first, PostgreSQL, the "
        "replica, the three Redis nodes and two workers for the same cores: a ratio near or below 1 "
        "is its cost; more API processes pay off on more cores or machines"
    )
    for key, value in result.items():
        print(f"{key:34} {value:.2f}" if isinstance(value, float) else f"{key:34} {value}")
    if opts.json:
        print(json.dumps(result))
    ok = (
        result["replica_ryw_violations"] == 0
        and result["replica_min_position_violations"] == 0
        and result["cluster_relay_configs_ok"]
        and result["worker_failover_s"] < FAILOVER_LIMIT
        and not result["views_differing_from_rebuild"]
        and result["billing_lost"] == 0
        and result["billing_duplicated"] == 0
    )
    return 0 if ok else 1


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    sys.exit(main())
