"""``POST /api/0/relays/projectconfigs/?version=3`` for 100 keys on a warm cache, side by side
with the raw endpoint: one Redis MGET of the same 100 keys and the stored bytes concatenated
(``bench/baseline_mget.py``), nothing parsed.

eventry runs as in production (``eventry serve --workers N`` and ``eventry worker``); the raw
endpoint is served by the same gunicorn command and worker class; all stay up for the whole
run and the rounds alternate. Both answers are checked to hold the 100 configs. Relay requests
are signed before the clock starts (each signature is accepted once), so the client's signing
cost is not in the figures.

    python bench/relay_configs.py [--seconds 10] [--clients 4] [--workers 2] [--rounds 2]
"""

from __future__ import annotations

import json
import secrets
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sentry_relay.auth import SecretKey, generate_key_pair

from bench._harness import (
    REDIS_URL,
    Request,
    call,
    create_projects,
    production,
    serve,
    serve_baseline,
    settle,
    worker,
)
from bench._result import Pair
from bench._throughput import Side, http_arguments, http_pair

NAME = "relay_configs"
GOAL = (">=", 0.90)
KEYS = 100
PATH = "/api/0/relays/projectconfigs/?version=3"
BASELINE_APP = "bench.baseline_mget:asgi_app"
Sent = tuple[str, str, bytes, dict[str, str]]


def add_keys(port: int, org: str, token: str, count: int) -> list[str]:
    """A project with ``count`` keys, made over HTTP; their public keys."""
    (project,) = create_projects(port, org, token, ["relayed"])
    auth = {"Authorization": f"Bearer {token}"}
    path = f"/api/0/projects/{org}/{project}/keys/"
    for i in range(count - 1):  # the project came with its default key
        status, _, body = call(port, "POST", path, {"name": f"key {i}"}, auth)
        if status != 201:
            raise RuntimeError(f"key not created: {status} {body}")
    status, _, keys = call(port, "GET", path, None, auth)
    assert status == 200 and len(keys) == count, (status, keys)
    return [k["public"] for k in keys]


def signed(secret: SecretKey, relay_id: str, body: bytes, expected: int) -> Request:
    """Requests signed ahead (``expected`` of them), then signed as they go."""
    signatures = iter([secret.sign(body) for _ in range(expected)])

    def relay_request(client: int, n: int) -> Sent:
        signature = next(signatures, None) or secret.sign(body)
        headers = {
            "X-Sentry-Relay-Id": relay_id,
            "X-Sentry-Relay-Signature": signature,
            "Content-Type": "application/json",
        }
        return "POST", PATH, body, headers

    return relay_request


def measure(seconds: float = 10, clients: int = 4, workers: int = 2, rounds: int = 2) -> Pair:
    secret, public = generate_key_pair()
    relay_id = str(uuid.uuid4())
    with production("eventry_bench_relay", EVENTRY_INTERNAL_RELAYS=str(public)) as dep:
        slug = f"bench-{secrets.token_hex(3)}"
        dep.cli("orgs", "create", slug)
        dep.cli("relays", "register-internal", "--", relay_id, str(public))  # a key may begin with "-"
        token = dep.token(slug, "project:read,project:write")
        with (
            worker(dep),
            serve(dep, workers) as port,
            serve_baseline(dep, BASELINE_APP, workers, BASELINE_REDIS_URL=REDIS_URL) as base,
        ):
            keys = add_keys(port, slug, token, KEYS)
            settle(dep)
            body = json.dumps({"publicKeys": keys, "fullConfig": True}).encode()
            relay_request = signed(secret, relay_id, body, int((seconds * rounds + 2) * 1000))

            def mget_request(client: int, n: int) -> Sent:
                return "POST", "/mget", body, {"Content-Type": "application/json"}

            sides = ((port, relay_request), (base, mget_request))
            check_answers(sides, keys)  # and the cache is warm
            return http_pair(
                dep,
                (
                    NAME,
                    GOAL,
                    f"projectconfigs v3, {KEYS} keys, warm cache, vs MGET + concatenate the stored bytes",
                ),
                sides,
                (seconds, clients, workers, rounds),
                lambda: None,  # reads append nothing for the worker to fold
            )


def check_answers(sides: tuple[Side, Side], keys: list[str]) -> None:
    """Both sides answer with every key's config: neither measures misses."""
    for p, make in sides:
        method, path, body, headers = make(0, 0)
        status, _, answer = call(p, method, path, body, headers)
        assert status == 200 and sorted(answer["configs"]) == sorted(keys), (p, status, str(answer)[:300])


def main() -> None:
    args = http_arguments(clients=4)
    print(measure(args.seconds, args.clients, args.workers, args.rounds).render())


if __name__ == "__main__":
    main()
