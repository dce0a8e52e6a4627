"""``POST /api/0/relays/projectconfigs/?version=3`` for 100 keys on a warm cache, side by side
with a baseline Flask endpoint that does one Redis MGET of the same 100 keys.

Both run under gunicorn with the same workers, against the same Redis, loaded by the same
client in this process. Relay requests are signed before the clock starts (each signature is
accepted once), so the client's signing cost is not in the figures.

    python bench/relay_configs.py [--seconds 10] [--clients 4] [--workers 2] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sentry_relay.auth import generate_key_pair

from bench._harness import (
    REDIS_URL,
    bench_env,
    cli,
    eventry,
    gunicorn,
    load,
    process,
    report,
    scratch_database,
)
from events import Meta, streams
from events.project_keys import KEY_ACTIVE, ProjectKeyCreated
from infra.bootstrap import bootstrap
from infra.config import Settings

KEYS = 100


def add_keys(settings: Settings, org_slug: str) -> list[str]:
    """100 keys on one project, appended as events (the read path is what is measured)."""
    svc = bootstrap(settings, create_tables=False)
    try:
        svc.engine.catch_up_all(["directory"])
        with svc.engine.read("directory") as view:
            from projections.directory import find_organization, list_projects

            org = find_organization(view, org_slug)
            assert org is not None
            project = list_projects(view, org.id)[0]
        stream = streams.project(project.id)
        version = svc.store.stream_version(stream)
        keys, pending = [], []
        for i in range(KEYS):
            public_key = uuid.uuid4().hex
            keys.append(public_key)
            event = ProjectKeyCreated(
                project.id, org.id, 10_000 + i, public_key, uuid.uuid4().hex, "bench", KEY_ACTIVE, None, None
            )
            pending.append((stream, version + 1 + i, event))
        svc.store.append(pending, Meta(actor_type="cli", actor_label="bench"), datetime.now(UTC))
        return keys
    finally:
        svc.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    with scratch_database("eventry_bench_relay") as url:
        secret, public = generate_key_pair()
        relay_id = str(uuid.uuid4())
        env = bench_env(DATABASE_URL=url, REDIS_URL=REDIS_URL, EVENTRY_INTERNAL_RELAYS=str(public))
        run = lambda *a: cli(env, *a)
        run("migrate")
        slug = f"bench-{secrets.token_hex(3)}"
        run("orgs", "create", slug)
        run("projects", "create", "--org", slug, "relayed")
        run("relays", "register-internal", relay_id, str(public))
        keys = add_keys(Settings(database_url=url, redis_url=REDIS_URL), slug)
        run("projections", "status")
        body = json.dumps({"publicKeys": keys, "fullConfig": True}).encode()
        expected = int(args.seconds * args.rounds * 3000)
        signatures = [secret.sign(body) for _ in range(expected)]
        used = iter(signatures)

        def relay_request(client: int, n: int) -> tuple[str, str, bytes, dict[str, str]]:
            headers = {
                "X-Sentry-Relay-Id": relay_id,
                "X-Sentry-Relay-Signature": next(used),
                "Content-Type": "application/json",
            }
            return "POST", "/api/0/relays/projectconfigs/?version=3", body, headers

        def mget_request(client: int, n: int) -> tuple[str, str, bytes, dict[str, str]]:
            return "POST", "/mget", body, {"Content-Type": "application/json"}

        measured, baseline = [], []
        with process(eventry("worker"), env):
            for _ in range(args.rounds):
                with process(
                    gunicorn(args.workers, 8793, "api.wsgi:app"), env, "http://127.0.0.1:8793/healthz"
                ):
                    load(8793, relay_request, 1, 1)  # warm the cache and the workers
                    measured.append(load(8793, relay_request, args.seconds, args.clients))
                with process(
                    gunicorn(args.workers, 8794, "bench.baseline_mget:app"),
                    {**env, "BASELINE_REDIS_URL": REDIS_URL},
                    "http://127.0.0.1:8794/mget",
                ):
                    load(8794, mget_request, 1, 1)
                    baseline.append(load(8794, mget_request, args.seconds, args.clients))
        report(
            f"projectconfigs v3, {KEYS} keys, warm cache, {args.workers} gunicorn workers, "
            f"{args.clients} clients, {args.seconds:.0f}s each",
            measured,
            baseline,
        )


if __name__ == "__main__":
    main()
