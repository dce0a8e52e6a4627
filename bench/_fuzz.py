"""Schemathesis against a live deployment: every operation of the OpenAPI document served at
``/api/0/openapi.json``, with valid tokens and path parameters, positive and negative examples.

Shared by the suite (``tests/integration/test_fuzz_api.py``, a bounded run) and
``bench/fuzz_api.py`` (as long as you like). A failure is a 5xx, a status the document does not
list for the operation, or a body or content type that breaks the document.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hypothesis
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, strategies
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sentry_relay.auth import SecretKey, generate_key_pair

from api.client import EventryClient
from bench._harness import bench_env, cli, eventry, process

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
ALL_SCOPES = ",".join(
    (
        "org:read", "org:write", "org:admin", "org:integrations", "org:ci", "project:read", "project:write",
        "project:admin", "project:releases", "event:read", "event:write", "event:admin",
    )
)  # fmt: skip
REQUEST_LINE = 4000  # gunicorn's limit_request_line is 4094 bytes
IDS = ("key_id", "version", "issue_id")  # generated values are kept for some examples


@dataclass
class Deployment:
    """A running server and what the fuzzer's requests name: ``org``/``project`` with a key, a
    release and an issue, and targets of their own for the operations that destroy or rename
    (so those cannot take the others' targets away)."""

    url: str
    token: str
    org: str
    project: str
    key: str
    release: str
    issue: str
    doomed: dict[str, dict[str, str]]  # endpoint -> path parameters it gets instead
    tokens: dict[str, str]  # endpoint -> the token it uses instead
    relay_id: str
    relay_secret: SecretKey

    def path_parameters(self, endpoint: str) -> dict[str, str]:
        values = {
            "org_slug": self.org,
            "project_slug": self.project,
            "key_id": self.key,
            "version": self.release,
            "issue_id": self.issue,
        }
        return {**values, **self.doomed.get(endpoint, {})}


@contextmanager
def deployment(
    database_url: str, redis_url: str, data_dir: Path, port: int, workers: int = 2
) -> Iterator[Deployment]:
    """``eventry migrate``, an organization with a token of every scope and an internal relay
    (the CLI), ``eventry worker`` and ``eventry serve --workers N``, then the key, release,
    issue and spare targets (over HTTP)."""
    secret, public = generate_key_pair()
    url = f"http://127.0.0.1:{port}"
    env = bench_env(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        EVENTRY_DATA_DIR=str(data_dir),
        EVENTRY_SECRET_KEY=secrets.token_urlsafe(32),
        EVENTRY_URL_PREFIX=url,
    )
    run = lambda *a: cli(env, *a)
    run("migrate")
    org, spare_org = f"fuzz-{secrets.token_hex(3)}", f"spare-{secrets.token_hex(3)}"
    run("orgs", "create", org)
    run("orgs", "create", spare_org)
    project = json.loads(run("projects", "create", "--org", org, "web"))
    token = run("tokens", "create", "--org", org, "--scopes", ALL_SCOPES).split()[-1]
    spare_token = run("tokens", "create", "--org", spare_org, "--scopes", ALL_SCOPES).split()[-1]
    relay_id = str(uuid.uuid4())
    run("relays", "register-internal", "--", relay_id, str(public))  # a key may begin with "-"
    serve = eventry("serve", "--port", str(port), "--workers", str(workers))
    log = data_dir / "fuzz-server.log"
    with process(eventry("worker"), env, log=log), process(serve, env, f"{url}/healthz", log=log):
        client = EventryClient(url, token)
        slug = project["slug"]

        def new_project(name: str) -> str:
            return str(client.post(f"/organizations/{org}/projects/", {"name": name}).data["slug"])

        def new_key(name: str) -> str:
            return str(client.post(f"/projects/{org}/{slug}/keys/", {"name": name}).data["public"])

        def new_release(version: str) -> str:
            client.post(f"/projects/{org}/{slug}/releases/", {"version": version})
            return version

        issue = client.post(f"/projects/{org}/{slug}/issues/", {"title": "fuzzed"}).data["id"]
        doomed = {
            "projects.delete_project": {"project_slug": new_project("doomed")},
            "projects.update_project": {"project_slug": new_project("renamed")},
            "project_keys.delete_project_key": {"key_id": new_key("doomed")},
            "releases.delete_release": {"version": new_release("doomed@1.0.0")},
            "organizations.update_organization": {"org_slug": spare_org},
        }
        yield Deployment(
            url=url,
            token=token,
            org=org,
            project=slug,
            key=new_key("fuzzed"),
            release=new_release("fuzz@1.2.3+build"),
            issue=str(issue),
            doomed=doomed,
            tokens={"organizations.update_organization": spare_token},
            relay_id=relay_id,
            relay_secret=secret,
        )


@dataclass
class Report:
    examples: dict[str, int] = field(default_factory=dict)  # "METHOD path" -> requests sent
    failures: dict[str, str] = field(default_factory=dict)  # "METHOD path" -> what failed
    statuses: dict[str, Counter[int]] = field(default_factory=dict)  # "METHOD path" -> status counts
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.examples.values())


def fuzz(
    dep: Deployment,
    max_examples: int,
    seed: int | None = 0,
    only: str | None = None,
    progress: Callable[[str], None] = lambda line: None,
) -> Report:
    """Every operation of the served document, ``max_examples`` positive and as many negative
    examples each (fewer when an operation has fewer distinct inputs); one report."""
    session = requests.Session()
    document = session.get(f"{dep.url}/api/0/openapi.json", timeout=30).json()
    schema = schemathesis.openapi.from_dict(document)  # from_url would leave this document's own route out
    report = Report()
    began = time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        label = operation.label
        if only and only not in label:
            continue
        report.examples[label] = 0
        report.statuses[label] = Counter()
        error = _fuzz_operation(dep, operation, max_examples, seed, session, report)
        if error:
            report.failures[label] = error
        statuses = " ".join(f"{code}:{n}" for code, n in sorted(report.statuses[label].items()))
        progress(f"{'FAILED' if error else 'ok':<6} {report.examples[label]:6d}  {label:<78} {statuses}")
    report.seconds = time.monotonic() - began
    return report


def _strategy(dep: Deployment, operation: Any) -> Any:
    endpoint = operation.definition.raw["operationId"]
    fixed = {p: v for p, v in dep.path_parameters(endpoint).items() if p in operation.path}
    token = dep.tokens.get(endpoint, dep.token)
    headers = {"Authorization": f"Bearer {token}"} if _bearer(operation) else {}
    choices = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        for parameters in (fixed, {p: v for p, v in fixed.items() if p not in IDS}):
            choices.append(operation.as_strategy(mode, path_parameters=parameters, headers=headers))
            if parameters == fixed and any(p in fixed for p in IDS):
                continue
            break
    return strategies.one_of(*choices)


def _bearer(operation: Any) -> bool:
    return any("bearerAuth" in req for req in operation.definition.raw.get("security", []))


def _relay(operation: Any) -> bool:
    return any("relaySignature" in req for req in operation.definition.raw.get("security", []))


def _fuzz_operation(
    dep: Deployment,
    operation: Any,
    max_examples: int,
    seed: int | None,
    session: requests.Session,
    report: Report,
) -> str | None:
    label = operation.label

    @hypothesis.settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=seed is not None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        report_multiple_bugs=False,
        print_blob=False,
        verbosity=hypothesis.Verbosity.quiet,
    )
    @hypothesis.given(case=_strategy(dep, operation))
    def check(case: Any) -> None:
        request = _request(dep, case, _relay(operation))
        # gunicorn answers a request line over its limit itself (414, HTML), before the app
        hypothesis.assume(_request_line(request) < REQUEST_LINE)
        report.examples[label] += 1
        response = session.request(**request, timeout=30)
        report.statuses[label][response.status_code] += 1
        case.validate_response(response, checks=CHECKS)

    try:
        check()
    except (Exception, BaseExceptionGroup) as exc:  # a failing example: hypothesis raises the minimal one
        return f"{type(exc).__name__}: {exc}"
    return None


def _request_line(request: dict[str, Any]) -> int:
    prepared = requests.Request(method=request["method"], url=request["url"], params=request.get("params"))
    return len(request["method"]) + len(prepared.prepare().url or "") + len(" HTTP/1.1")


def _request(dep: Deployment, case: Any, relay: bool) -> dict[str, Any]:
    """The request as schemathesis built it; relay requests signed over their exact body."""
    kwargs = case.as_transport_kwargs(base_url=dep.url)
    if relay:
        body = kwargs.pop("json", None)
        data = kwargs.pop("data", None)
        raw = json.dumps(body).encode() if body is not None else (data or b"")
        raw = raw.encode() if isinstance(raw, str) else raw
        kwargs["data"] = raw
        kwargs["headers"] = {
            **kwargs.get("headers", {}),
            "Content-Type": "application/json",
            "X-Sentry-Relay-Id": dep.relay_id,
            "X-Sentry-Relay-Signature": dep.relay_secret.sign(raw),
        }
    return dict(kwargs)


def summary(report: Report) -> str:
    lines = [
        f"{report.total} requests over {len(report.examples)} operations in {report.seconds:.1f} s, "
        f"{len(report.failures)} operations failed"
    ]
    lines += [f"FAILED {label}\n{text}\n" for label, text in sorted(report.failures.items())]
    return "\n".join(lines)
