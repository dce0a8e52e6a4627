"""Redis flushed, then restarted, under the mixed load of ``bench/mixed_load.py``.

The benchmark starts a private ``redis-server`` without persistence (the machine's shared
Redis is never touched) and runs the mixed load for 60 seconds: at one third every key is
flushed (FLUSHALL), at two thirds the server is stopped and started again (empty). Nothing in
eventry is restarted; PostgreSQL holds the log and the views.

Prints the load figures and, per fault, the failed attempts and the requests that failed
after the client's retries; how many relay configs (``relayconfig:{publicKey}``) Redis held
just after each fault and, at the end, how many of the keys Relay asked for since the last
fault are back in Redis, rebuilt from the relay_configs view, and whether each equals the view's
document and what Relay is served; then the log check: every acknowledged write is in the log
exactly once. Exits 1 if a config is missing or wrong, a write was lost, a request got a 500,
or the service did not recover by itself.

    python bench/fault_redis.py [--seconds 60] [--users 8] [--workers 2] [--down 2]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._harness import scratch_database
from bench._mixed import (
    Deployment,
    Tally,
    User,
    deployment,
    print_catch_up,
    print_faults,
    print_figures,
    print_outcome,
    run,
)
from bench._private_servers import PrivateRedis, free_port, private_redis
from infra.bootstrap import bootstrap
from infra.relay_cache import RelayConfigCache
from projections import relay_configs


def cached_configs(server: PrivateRedis) -> int:
    return sum(1 for _ in server.client().scan_iter("relayconfig:*", count=1000))


def served(dep: Deployment, keys: list[str]) -> dict[str, Any]:
    """What Relay gets for ``keys`` now (one request, no retries), without ``lastFetch``."""
    user = User(0, dep, Tally())
    user.relay_client.retries = 0
    configs = user.fetch_configs(keys).get("configs", {})
    for doc in configs.values():
        doc.pop("lastFetch", None)
    return dict(configs)


def compare_configs(dep: Deployment, keys: list[str]) -> dict[str, int]:
    """Each key's document in Redis, in the view and as served: all three must agree."""
    svc = bootstrap(dep.settings, create_tables=False)
    try:
        cached = RelayConfigCache(svc.redis).read(keys)
        with svc.engine.read("relay_configs") as view:
            stored = relay_configs.documents(view, keys)
    finally:
        svc.close()
    answered = {}
    for start in range(0, len(keys), 500):
        answered.update(served(dep, keys[start : start + 500]))
    in_redis = sum(1 for k in keys if k in cached)
    differ = sum(
        1 for k in keys if k in cached and json.loads(cached[k]) != json.loads(stored.get(k, "null"))
    )
    wrongly_served = sum(1 for k in keys if answered.get(k) != json.loads(stored.get(k, "null")))
    return {
        "asked": len(keys),
        "in_redis": in_redis,
        "differ_from_view": differ,
        "served_wrong": wrongly_served,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--down", type=float, default=2.0, help="seconds Redis stays down when restarted")
    args = parser.parse_args()
    log = Path(tempfile.mkstemp(prefix="eventry-fault-redis-", suffix=".log")[1])

    with (
        private_redis() as redis_server,
        scratch_database("eventry_bench_fault_redis") as url,
        deployment(url, redis_server.url, args.users, args.workers, free_port(), log) as dep,
    ):
        after_fault: list[tuple[str, int]] = []

        def fault(name: str, action: Any) -> Any:
            def run_fault() -> None:
                action()
                after_fault.append((name, cached_configs(redis_server)))

            return (name, run_fault)

        third = args.seconds / 3
        faults = [
            (third, *fault("Redis FLUSHALL", redis_server.flush)),
            (
                2 * third,
                *fault(f"Redis restart ({args.down:g}s down)", lambda: redis_server.restart(args.down)),
            ),
        ]
        before = cached_configs(redis_server)
        tally, elapsed = run(dep, args.users, args.seconds, faults)
        rows = print_figures(
            f"mixed load with Redis flushed, then restarted, {args.seconds:.0f}s, {args.users} users, "
            f"{args.workers} gunicorn workers + eventry worker",
            tally,
            elapsed,
        )
        outcomes = print_faults(tally)
        print(f"  relay configs in Redis before the load: {before}", end="")
        print("".join(f"; right after {name}: {count}" for name, count in after_fault))
        caught_up = print_catch_up(dep)
        last_fault_end = tally.faults[-1][2] if tally.faults else 0.0
        asked = sorted(k for k, t in tally.relay_keys.items() if t > last_fault_end)
        configs = compare_configs(dep, asked)
        print(
            f"  keys Relay asked for since the last fault: {configs['asked']}, back in Redis: "
            f"{configs['in_redis']}, differing from the view: {configs['differ_from_view']}, "
            f"served differently from the view: {configs['served_wrong']}"
        )
        outcome = print_outcome(dep, tally, log)
        print(json.dumps({"figures": rows, "faults": outcomes, "configs": configs, **outcome}))
    configs_ok = configs["in_redis"] == configs["asked"] and not configs["differ_from_view"]
    if caught_up is None or not configs_ok or configs["served_wrong"] or not outcome["ok"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
