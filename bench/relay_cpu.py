"""CPU per request of ``POST /api/0/relays/projectconfigs/?version=3`` (100 keys, warm cache)
inside one process: eventry's WSGI app and the baseline's (``bench/baseline_mget.py``) called
alternately, request by request, on prepared requests, each request's ``time.process_time()``
counted; the figures are the mean of the best round of each side, and the medians of all. No server, no
network but Redis': what the HTTP benchmark (``bench/relay_configs.py``) cannot tell apart on a
shared machine, the app's own cost, side by side in one run.

The deployment is the benchmark's (scratch database, shared Redis, Prometheus' multi-process
directory, the request log at INFO, to a file); the measuring runs in a child process with the
servers' environment, so its app is built as ``eventry serve`` builds it.

    python bench/relay_cpu.py [--requests 2000] [--rounds 3] [--profile FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._harness import REDIS_URL, production, serve, settle, worker
from bench.relay_configs import KEYS, PATH, add_keys


def measure(requests: int, rounds: int, profile: str | None) -> dict[str, Any]:
    from sentry_relay.auth import generate_key_pair

    secret, public = generate_key_pair()
    relay_id = str(uuid.uuid4())
    with production("eventry_bench_relay_cpu", EVENTRY_INTERNAL_RELAYS=str(public)) as dep:
        slug = "bench-cpu"
        dep.cli("orgs", "create", slug)
        dep.cli("relays", "register-internal", "--", relay_id, str(public))
        token = dep.token(slug, "project:read,project:write")
        with worker(dep):
            with serve(dep, 1) as port:
                keys = add_keys(port, slug, token, KEYS)
            settle(dep)
            job = {"secret": str(secret), "relay_id": relay_id, "keys": keys, "requests": requests,
                   "rounds": rounds, "profile": profile}  # fmt: skip
            env = {**dep.serve_env, "BASELINE_REDIS_URL": REDIS_URL}
            with (dep.scratch / "child.log").open("wb") as log:
                done = subprocess.run(
                    [sys.executable, __file__, "--child"],
                    input=json.dumps(job).encode(),
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    check=False,
                )
            if done.returncode:
                raise RuntimeError((dep.scratch / "child.log").read_text(errors="replace")[-3000:])
            result: dict[str, Any] = json.loads(done.stdout)
            return result


def child() -> None:
    """Runs with the servers' environment: builds both apps and times them."""
    from sentry_relay.auth import SecretKey
    from werkzeug.test import EnvironBuilder

    from api.app import create_app
    from bench.baseline_mget import app as baseline_app

    job = json.load(sys.stdin)
    secret = SecretKey.parse(job["secret"])
    body = json.dumps({"publicKeys": job["keys"], "fullConfig": True}).encode()
    app = create_app()

    def eventry_environs(count: int) -> list[dict[str, Any]]:
        headers = {"X-Sentry-Relay-Id": job["relay_id"], "Content-Type": "application/json"}
        return [
            EnvironBuilder(
                path=PATH.split("?")[0],
                query_string=PATH.split("?")[1],
                method="POST",
                data=body,
                headers={**headers, "X-Sentry-Relay-Signature": secret.sign(body)},
            ).get_environ()
            for _ in range(count)
        ]

    def baseline_environs(count: int) -> list[dict[str, Any]]:
        return [
            EnvironBuilder(
                path="/mget", method="POST", data=body, content_type="application/json"
            ).get_environ()
            for _ in range(count)
        ]

    statuses: list[str] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> None:
        statuses.append(status)

    def cost(wsgi: Callable[..., Iterable[bytes]], environ: dict[str, Any]) -> float:
        began = time.process_time()
        answer = wsgi(environ, start_response)
        b"".join(answer)
        if hasattr(answer, "close"):
            answer.close()
        return time.process_time() - began

    sides = {"eventry": (app, eventry_environs), "baseline": (baseline_app, baseline_environs)}
    for wsgi, make in sides.values():  # warm: pools open, code paths run
        for environ in make(50):
            cost(wsgi, environ)
    # Requests alternate between the two apps, so that whatever else the machine runs falls on both.
    costs: dict[str, list[list[float]]] = {name: [] for name in sides}
    for n in range(job["rounds"]):
        prepared = {name: make(job["requests"]) for name, (_, make) in sides.items()}
        for mine in costs.values():
            mine.append([])
        profile = None
        if job["profile"] and n == 0:
            import cProfile

            profile = cProfile.Profile()
        for i in range(job["requests"]):
            for name, (wsgi, _) in sides.items():
                if profile and name == "eventry":
                    profile.enable()
                costs[name][-1].append(cost(wsgi, prepared[name][i]))
                if profile and name == "eventry":
                    profile.disable()
        if profile:
            profile.dump_stats(job["profile"])
    bad = [s for s in statuses if not s.startswith("200")]
    assert not bad, bad[:3]
    measured = costs if not job["profile"] else {k: v[1:] for k, v in costs.items()}
    rounds = {name: [statistics.mean(r) * 1000 for r in v] for name, v in measured.items()}
    medians = {name: statistics.median(c for r in v for c in r) * 1000 for name, v in measured.items()}
    best = {name: min(v) for name, v in rounds.items()}
    print(
        json.dumps(
            {
                "cpu_ms": best,
                "median_ms": medians,
                "rounds_ms": rounds,
                "extra_ms": best["eventry"] - best["baseline"],
                "ratio": best["baseline"] / best["eventry"],
            }
        )
    )


def main() -> None:
    if "--child" in sys.argv:
        return child()
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--profile",
        default=None,
        help="cProfile of each side's first round to FILE.eventry and FILE.baseline",
    )
    args = parser.parse_args()
    profile = args.profile and os.path.abspath(args.profile)
    result = measure(args.requests, args.rounds + bool(profile), profile)
    best = result["cpu_ms"]
    print(
        f"relay_configs in-process CPU per request ({KEYS} keys, warm cache, best of {args.rounds} rounds "
        f"of {args.requests}): eventry {best['eventry']:.3f} ms, baseline {best['baseline']:.3f} ms, "
        f"extra {result['extra_ms']:.3f} ms, ratio {result['ratio']:.3f}"
    )
    medians = result["median_ms"]
    print(f"  medians: eventry {medians['eventry']:.3f} ms, baseline {medians['baseline']:.3f} ms")
    print(
        "  rounds (ms): " + json.dumps({k: [round(x, 3) for x in v] for k, v in result["rounds_ms"].items()})
    )
    return None


if __name__ == "__main__":
    main()
