"""The mixed workload of the load and fault benchmarks.

Virtual users, each with its own project in one organization, send a fixed mix of writes and
reads through eventry's Python client (``api/client.py``: Idempotency-Key per write, reused by
its retries; reads carry the client's last position as ``X-Eventry-Min-Position``; 502/503/504
and lost connections retried with backoff) to ``eventry serve --workers N`` on PostgreSQL and
Redis, with ``eventry worker`` following the log. Relay requests are signed afresh on every
attempt with Relay's own library, as Relay does.

Every attempt that fails is counted (``failed attempts``); a request that still fails after the
client's retries, or whose answer is wrong (a read that misses the user's own last write, a
relay config of another project), is an error. Every acknowledged (2xx) write is remembered with
its key, position and the event it must have appended; ``verify_log`` reads the whole log
afterwards and checks each is there exactly once.
"""

from __future__ import annotations

import http.client
import json
import secrets
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sentry_relay import SecretKey, generate_key_pair

from api.client import ApiError, EventryClient, Response, TransportError, _response
from bench._harness import bench_env, cli, eventry, figures, process, run_clients
from events.requests import RequestCompleted
from infra.bootstrap import bootstrap
from infra.config import Settings
from infra.eventstore import EventStore, build_recorder

KINDS = {
    "block": "PUT metrics/visibility (block/unblock tags)",
    "options_put": "PUT project (an option)",
    "key_post": "POST project keys",
    "options_get": "GET project options (min position)",
    "audit_get": "GET organization audit-logs",
    "relay": "POST relays/projectconfigs v3",
}
WRITES = ("block", "options_put", "key_post")
# 20 steps: 7 writes (35 %), 13 reads; the same order for every user.
MIX = (
    "block", "options_get", "relay", "options_put", "audit_get",
    "block", "options_get", "relay", "options_get", "key_post",
    "block", "relay", "options_get", "audit_get", "options_put",
    "block", "options_get", "relay", "options_get", "audit_get",
)  # fmt: skip
SENSITIVE = "sentry:sensitive_fields"
UNKNOWN = object()  # a write whose outcome the client never learned


@dataclass(frozen=True)
class Expect:
    """The domain event an acknowledged write must have appended: its topic and some fields."""

    topic: str
    fields: dict[str, Any]

    def matches(self, event: Any) -> bool:
        if self.topic != event.TOPIC:
            return False
        return all(_plain(getattr(event, k, None)) == _plain(v) for k, v in self.fields.items())


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


@dataclass(frozen=True)
class Ack:
    kind: str
    key: str  # the Idempotency-Key
    position: int
    status: int
    expect: Expect


@dataclass
class Tally:
    """What every user saw, shared by the users' threads."""

    started: float = field(default_factory=time.monotonic)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    failed_attempts: list[tuple[float, str, int]] = field(default_factory=list)  # (t, kind, status)
    errors: list[tuple[float, str, str]] = field(default_factory=list)  # (t, kind, what)
    finished: list[tuple[float, float]] = field(default_factory=list)  # (t, seconds it took)
    acks: list[Ack] = field(default_factory=list)
    pending_configs: int = 0
    relay_keys: dict[str, float] = field(default_factory=dict)  # public key -> last asked (t)
    faults: list[tuple[str, float, float]] = field(default_factory=list)  # (name, began, ended)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def now(self) -> float:
        return time.monotonic() - self.started

    def attempt_failed(self, kind: str, status: int) -> None:
        with self.lock:
            self.failed_attempts.append((self.now(), kind, status))

    def error(self, kind: str, what: str) -> None:
        with self.lock:
            self.errors.append((self.now(), kind, what))


@dataclass(frozen=True)
class Relay:
    relay_id: str
    secret: SecretKey
    public_key: str


class LoadClient(EventryClient):
    """eventry's client on one persistent ``http.client`` connection, counting failed attempts."""

    def __init__(self, port: int, token: str | None, tally: Tally, relay: Relay | None = None) -> None:
        super().__init__(f"http://127.0.0.1:{port}", token, timeout=30, retries=6, backoff=0.25)
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=self.timeout)
        self.tally = tally
        self.relay = relay
        self.kind = ""

    def _send(self, method: str, url: str, data: bytes | None, headers: dict[str, str]) -> Response:
        if self.relay is not None and data is not None:  # a signature is accepted once
            headers = {**headers, "X-Sentry-Relay-Signature": self.relay.secret.sign(data)}
        parts = urlsplit(url)
        target = f"{parts.path}?{parts.query}" if parts.query else parts.path
        try:
            self.conn.request(method, target, body=data, headers=headers)
            raw = self.conn.getresponse()
            payload = raw.read()
        except (OSError, http.client.HTTPException) as exc:
            self.conn.close()
            self.tally.attempt_failed(self.kind, 0)
            raise ConnectionError(repr(exc)) from exc
        if raw.status >= 400:
            self.tally.attempt_failed(self.kind, raw.status)
        return _response(raw.status, payload, dict(raw.getheaders()))


@dataclass
class Deployment:
    env: dict[str, str]
    port: int
    org: str
    projects: list[tuple[str, int]]  # (slug, id) per user
    keys: dict[int, list[str]]  # project id -> public keys
    token: str
    relay: Relay

    @property
    def settings(self) -> Settings:
        return Settings(database_url=self.env["DATABASE_URL"], redis_url=self.env["REDIS_URL"])


@contextmanager
def deployment(
    database_url: str, redis_url: str, users: int, workers: int, port: int, log: Path | None = None
) -> Iterator[Deployment]:
    """Migrate, create an organization, a project per user, a token and an internal relay,
    then run ``eventry worker`` and ``eventry serve --workers N``."""
    secret, public = generate_key_pair()
    env = bench_env(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        EVENTRY_INTERNAL_RELAYS=str(public),
        EVENTRY_SECRET_KEY=secrets.token_urlsafe(32),
        EVENTRY_URL_PREFIX=f"http://127.0.0.1:{port}",
    )
    run = lambda *a: cli(env, *a)
    run("migrate")
    org = f"load-{secrets.token_hex(3)}"
    run("orgs", "create", org)
    projects = []
    for i in range(users):
        created = json.loads(run("projects", "create", "--org", org, f"user {i}"))
        projects.append((created["slug"], int(created["id"])))
    scopes = "project:read,project:write,org:write"
    token = run("tokens", "create", "--org", org, "--scopes", scopes).strip().splitlines()[-1]
    relay = Relay(str(uuid.uuid4()), secret, str(public))
    run("relays", "register-internal", "--", relay.relay_id, relay.public_key)  # a key may begin with "-"
    serve = eventry("serve", "--port", str(port), "--workers", str(workers))
    with (
        process(eventry("worker"), env, log=log),
        process(serve, env, f"http://127.0.0.1:{port}/healthz", log=log),
    ):
        client = EventryClient(f"http://127.0.0.1:{port}", token)
        keys = {
            pid: [k["public"] for k in client.get(f"/projects/{org}/{slug}/keys/").data]
            for slug, pid in projects
        }
        yield Deployment(env, port, org, projects, keys, token, relay)


class User:
    """One virtual user: its own project, its own clients, the mix in order."""

    def __init__(self, index: int, dep: Deployment, tally: Tally) -> None:
        self.index = index
        self.dep = dep
        self.tally = tally
        self.api = LoadClient(dep.port, dep.token, tally)
        self.relay_client = LoadClient(dep.port, None, tally, dep.relay)
        self.slug, self.project_id = dep.projects[index]
        self.keys = list(dep.keys[self.project_id])
        self.blocked: tuple[str, str] | None = None  # (mri, tag) this user's last acked block
        self.sensitive: Any = UNKNOWN
        self.n = 0

    def step(self) -> None:
        kind = MIX[self.n % len(MIX)]
        self.n += 1
        self.api.kind = self.relay_client.kind = kind
        started = time.perf_counter()
        try:
            getattr(self, kind)()
        except Exception as exc:  # an ApiError after retries, a TransportError, or a bad answer
            self.tally.error(kind, repr(exc))
            if kind == "options_put":
                self.sensitive = UNKNOWN
        took = time.perf_counter() - started
        with self.tally.lock:
            self.tally.latencies[kind].append(took)
            self.tally.finished.append((self.tally.now(), took))

    def _write(self, kind: str, method: str, path: str, body: Any, expect: Expect) -> Response:
        key = uuid.uuid4().hex
        response = self.api.request(method, path, body=body, headers={"Idempotency-Key": key})
        if response.position is None:
            self.tally.error(kind, f"{response.status} without X-Eventry-Position")
        else:
            with self.tally.lock:
                self.tally.acks.append(Ack(kind, key, response.position, response.status, expect))
        return response

    def block(self) -> None:
        """Block a fresh tag, then unblock it on the next turn: every write changes state and
        the project's blocking option stays small."""
        path = f"/projects/{self.dep.org}/{self.slug}/metrics/visibility/"
        if self.blocked is None:
            mri, tag = f"c:custom/load{self.n % 8}@none", f"t{self.index}-{self.n}"
            operation, topic = "blockTags", "metrics.MetricTagsBlocked.v1"
        else:
            (mri, tag), operation, topic = self.blocked, "unblockTags", "metrics.MetricTagsUnblocked.v1"
        self.blocked = None  # unknown until acknowledged
        body = {"operationType": operation, "metricMri": mri, "tags": [tag]}
        expect = Expect(topic, {"project_id": self.project_id, "metric_mri": mri, "tags": (tag,)})
        self._write("block", "PUT", path, body, expect)
        if operation == "blockTags":
            self.blocked = (mri, tag)

    def options_put(self) -> None:
        value = [f"f{self.index}-{self.n}"]
        self.sensitive = UNKNOWN
        expect = Expect("projects.ProjectOptionSet.v1", {"project_id": self.project_id, "value": value})
        path = f"/projects/{self.dep.org}/{self.slug}/"
        self._write("options_put", "PUT", path, {"options": {SENSITIVE: value}}, expect)
        self.sensitive = value

    def key_post(self) -> None:
        path = f"/projects/{self.dep.org}/{self.slug}/keys/"
        # The server draws the key: its event is known by the name, unique to this request.
        name = f"load {self.index}-{self.n}"
        expect = Expect("project_keys.ProjectKeyCreated.v2", {"project_id": self.project_id, "label": name})
        response = self._write("key_post", "POST", path, {"name": name}, expect)
        self.keys.append(response.data["public"])

    def options_get(self) -> None:
        response = self.api.get(f"/projects/{self.dep.org}/{self.slug}/options/")
        seen = response.data.get(SENSITIVE)
        if self.sensitive is not UNKNOWN and seen != self.sensitive:
            self.tally.error("options_get", f"read {seen!r} after writing {self.sensitive!r}")

    def audit_get(self) -> None:
        response = self.api.get(f"/organizations/{self.dep.org}/audit-logs/", params={"per_page": 20})
        if not response.data.get("rows"):
            self.tally.error("audit_get", "an empty audit log")

    def fetch_configs(self, keys: list[str]) -> dict[str, Any]:
        """Relay's fetch of full project configs, version 3."""
        response = self.relay_client.request(
            "POST",
            "/relays/projectconfigs/",
            params={"version": "3"},
            body={"publicKeys": keys, "fullConfig": True},
            headers={"X-Sentry-Relay-Id": self.dep.relay.relay_id},
        )
        return dict(response.data)

    def relay(self) -> None:
        keys = self.keys[-10:]
        answer = self.fetch_configs(keys)
        configs, pending = answer.get("configs", {}), answer.get("pending", [])
        with self.tally.lock:
            self.tally.pending_configs += len(pending)
            for key in keys:
                self.tally.relay_keys[key] = self.tally.now()
        for key in keys:
            doc = configs.get(key)
            if key in pending:
                continue
            if doc is None or doc.get("disabled") or doc.get("projectId") != self.project_id:
                self.tally.error("relay", f"config of {key}: {doc!r:.200}")


Fault = tuple[float, str, Callable[[], None]]  # (seconds into the load, name, action)


def run(dep: Deployment, users: int, seconds: float, faults: Sequence[Fault] = ()) -> tuple[Tally, float]:
    """The mix for ``seconds`` with ``users`` users; ``faults`` run on their own thread."""
    tally = Tally()
    people = [User(i, dep, tally) for i in range(users)]

    def inject() -> None:
        for at, name, action in sorted(faults):
            time.sleep(max(at - tally.now(), 0))
            began = tally.now()
            action()
            tally.faults.append((name, began, tally.now()))

    def user(index: int, stop: float) -> None:
        while time.monotonic() < stop:
            people[index].step()

    tally.started = time.monotonic()
    injector = threading.Thread(target=inject, daemon=True)
    injector.start()
    elapsed = run_clients(users, seconds, user)
    injector.join()
    return tally, elapsed


def print_figures(title: str, tally: Tally, elapsed: float) -> dict[str, Any]:
    """Per kind and overall: requests, req/s, p50/p99 (ms, retries included), failed attempts
    and errors. Returns the figures."""
    attempts = Counter(kind for _, kind, _ in tally.failed_attempts)
    errors = Counter(kind for _, kind, _ in tally.errors)
    rows = {kind: figures(tally.latencies[kind], elapsed, errors[kind]) for kind in KINDS}
    everything = [t for kind in KINDS for t in tally.latencies[kind]]
    rows["all"] = figures(everything, elapsed, len(tally.errors))
    print(f"\n{title}")
    print(
        f"  {'request':<46}{'count':>7}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'failed att.':>12}{'errors':>8}"
    )
    for kind, row in rows.items():
        label = KINDS.get(kind, "all requests")
        failed = attempts[kind] if kind in KINDS else len(tally.failed_attempts)
        print(
            f"  {label:<46}{int(row['requests']):>7}{row['rps']:>9.1f}{row['p50_ms']:>9.1f}"
            f"{row['p99_ms']:>9.1f}{failed:>12}{int(row['errors']):>8}"
        )
        row["failed_attempts"] = failed
    writes = sum(rows[k]["requests"] for k in WRITES)
    print(f"  writes {writes / elapsed:.1f}/s, reads {(rows['all']['requests'] - writes) / elapsed:.1f}/s")
    if tally.pending_configs:
        print(f"  relay configs answered 'pending' (view not caught up yet): {tally.pending_configs}")
    for t, kind, what in tally.errors[:10]:
        print(f"  error at {t:6.2f}s {kind}: {what:.300}")
    return rows


def read_log(settings: Settings) -> list[Any]:
    """Every recorded event, in log order."""
    store = EventStore(build_recorder(settings.eventsourcing_env(create_table=False)))
    records, position = [], 0
    while batch := store.read_log(position, 5000):
        records.extend(batch)
        position = batch[-1].position
    return records


def verify_log(settings: Settings, acks: list[Ack]) -> dict[str, int]:
    """Each acknowledged write's completion marker (its Idempotency-Key, appended in the same
    transaction as its events) is in the log at or before the acknowledged position, with
    the acknowledged status, right after the event the write had to append; and that event
    is in the log exactly once."""
    records = read_log(settings)
    markers = {r.event.key: i for i, r in enumerate(records) if isinstance(r.event, RequestCompleted)}
    topics = {a.expect.topic for a in acks}
    candidates = defaultdict(list)
    for r in records:
        if r.event.TOPIC in topics:
            candidates[r.event.TOPIC].append(r.event)
    lost = wrong = twice = 0
    for ack in acks:
        index = markers.get(ack.key)
        if index is None:
            lost += 1
            continue
        marker = records[index]
        before = []  # the events appended with the marker (same transaction, contiguous)
        for r in reversed(records[max(index - 4, 0) : index]):
            if isinstance(r.event, RequestCompleted):
                break
            before.append(r.event)
        if (
            marker.position is None
            or marker.position > ack.position
            or marker.event.status != ack.status
            or not any(ack.expect.matches(e) for e in before)
        ):
            wrong += 1
        if sum(ack.expect.matches(e) for e in candidates[ack.expect.topic]) > 1:
            twice += 1
    return {
        "acknowledged": len(acks),
        "lost": lost,
        "wrong": wrong,
        "applied_twice": twice,
        "log": len(records),
    }


def print_log_check(check: dict[str, int]) -> None:
    print(
        f"  acknowledged writes: {check['acknowledged']}, missing from the log: {check['lost']}, "
        f"recorded wrongly: {check['wrong']}, applied twice: {check['applied_twice']} "
        f"(log: {check['log']} events)"
    )


def log_intact(check: dict[str, int]) -> bool:
    return check["lost"] == check["wrong"] == check["applied_twice"] == 0


def print_faults(tally: Tally) -> list[dict[str, float]]:
    """Per fault, from its start until the next fault: failed attempts and errors, when the last
    of them happened (seconds after the fault's end: the time the service took to recover), and
    the slowest request (retries included: what a client waited)."""
    out = []
    bounds = [began for _, began, _ in tally.faults[1:]] + [float("inf")]
    for (name, began, ended), until in zip(tally.faults, bounds, strict=True):
        attempts = [(t, s) for t, _, s in tally.failed_attempts if began <= t < until]
        errors = [t for t, _, _ in tally.errors if began <= t < until]
        last = max([t for t, _ in attempts] + errors, default=None)
        statuses = Counter("connection lost" if s == 0 else str(s) for _, s in attempts)
        kinds = ", ".join(f"{n}x {status}" for status, n in sorted(statuses.items()))
        recovered = 0.0 if last is None else max(last - ended, 0.0)
        slowest = max((took for t, took in tally.finished if began <= t < until), default=0.0)
        print(
            f"  {name} at {began:.1f}s (took {ended - began:.2f}s): {len(attempts)} failed attempts"
            f"{f' ({kinds})' if kinds else ''}, {len(errors)} requests failed after retries; "
            f"last failure {recovered:.2f}s after it ended; slowest request {slowest:.2f}s"
        )
        out.append(
            {"at": began, "took": ended - began, "failed_attempts": len(attempts), "errors": len(errors)}
            | {"recovered_after": recovered, "slowest_request": slowest}
        )
    return out


def probe(dep: Deployment) -> list[str]:
    """One request of each kind with no client retries: what still fails after the faults."""
    tally = Tally()
    user = User(0, dep, tally)
    user.api.retries = user.relay_client.retries = 0
    failed = []
    for kind in KINDS:
        before = len(tally.errors)
        user.api.kind = user.relay_client.kind = kind
        try:
            getattr(user, kind)()
        except (ApiError, TransportError) as exc:
            failed.append(f"{kind}: {exc!r}")
        failed.extend(f"{kind}: {what}" for _, _, what in tally.errors[before:])
    return failed


def print_catch_up(dep: Deployment, timeout: float = 60.0) -> float | None:
    """Seconds until ``eventry worker`` has every view at the head of the log after the load;
    None if it did not get there within ``timeout``."""
    svc = bootstrap(dep.settings, create_tables=False)
    try:
        began, caught_up = time.monotonic(), None
        while caught_up is None and time.monotonic() - began < timeout:
            if all(s.lag == 0 for s in svc.engine.status()):
                caught_up = time.monotonic() - began
            else:
                time.sleep(0.1)
    finally:
        svc.close()
    where = f"{caught_up:.2f}s after the load" if caught_up is not None else f"NOT within {timeout:.0f}s"
    print(f"  eventry worker: every view at the head of the log {where}")
    return caught_up


def print_outcome(dep: Deployment, tally: Tally, log: Path) -> dict[str, Any]:
    """After a run with faults: one request of each kind without retries, the log check and
    the 500 answers; ``ok`` when nothing acknowledged was lost and nothing still fails."""
    still_failing = probe(dep)
    print(f"  one request of each kind, no retries: {still_failing or 'all succeeded'}")
    check = verify_log(dep.settings, tally.acks)
    print_log_check(check)
    server_errors = sum(1 for _, _, status in tally.failed_attempts if status == 500)
    print(f"  500 answers: {server_errors}; server log: {log}")
    ok = not still_failing and not server_errors and log_intact(check)
    return {"still_failing": still_failing, "log": check, "500s": server_errors, "ok": ok}
