"""Hostile input on every operation of the served OpenAPI document, as a client would send it:
lone surrogates (escaped and as raw UTF-8 bytes) in bodies, the query and the path, JSON nested
past the limit, NaN and Infinity, integers too large for any column in every body field and
query parameter, cursors past the 64-bit range, and non-ASCII path parameters.

Each answer is below 500 with headers a server can send (latin-1; ``Link`` percent-encoded),
a 4xx appends nothing to the log, and afterwards every view has folded the whole log.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from flask.testing import FlaskClient

from api.pagination import INVALID_CURSOR
from api.screen import INVALID_URL, MALFORMED_JSON, MAX_JSON_DEPTH
from infra.bootstrap import Services
from tests.conftest import Tenant, make_token
from tests.relay_client import RelayClient

ALL_SCOPES = (
    "org:read", "org:write", "org:admin", "org:integrations", "org:ci", "project:read", "project:write",
    "project:admin", "project:releases", "event:read", "event:write", "event:admin",
)  # fmt: skip
SURROGATE = "Surrogate characters are not allowed: U+D800."
VERSION = "1\u20130"  # an en dash: the Link header of this release's lists must still be ASCII
HUGE = (2**70, -(2**70), 2**63)
NOT_NUMBERS = ("NaN", "Infinity", "-Infinity", "1e400")
REFUSED_DEPTHS = (MAX_JSON_DEPTH + 1, 485, 990, 5000)
CURSORS_OUT_OF_RANGE = (f"100:{2**70}:0", "1:9223372036854775808:0", "1:" + "9" * 5000 + ":0")
OTHER_CURSORS = ("9223372036854775807:1:0", "-5:1:0", "1:\u00b2:0", "1:2:3:4", "a:b:c", "")
PATH_VALUES = ("1\u20130", "9" * 30, "-1", "\u00e9t\u00e9")


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # with {parameters}
    body: dict[str, Any] | None  # the JSON schema of the request body, references resolved
    query: tuple[str, ...]
    relay: bool

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


@dataclass
class Sweep:
    client: FlaskClient
    services: Services
    headers: dict[str, str]
    relay: RelayClient
    targets: dict[str, str]
    statuses: dict[str, Counter[int]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def send(
        self,
        op: Operation,
        what: str,
        body: bytes | None = None,
        query: str = "",
        path: str | None = None,
        raw_path: str | None = None,
        expect: str | None = None,
    ) -> Any:
        """``expect``: the screen's ``detail``, in a 400."""
        url = path or op.path.format(**self.targets)
        headers = {**self.headers, "Content-Type": "application/json"}
        if op.relay and body is not None:
            headers.update(self.relay_headers(body))
        head = self.services.store.head()
        r = self.client.open(
            url,
            method=op.method,
            data=body,
            query_string=query,
            headers=headers,
            environ_overrides={"PATH_INFO": raw_path} if raw_path else None,
        )
        self.statuses.setdefault(op.label, Counter())[r.status_code] += 1
        problem = self.problem(r, head, expect)
        if problem:
            self.failures.append(f"{op.label} [{what}]: {problem}")
        return r

    def problem(self, r: Any, head: int, expect: str | None) -> str:
        if r.status_code >= 500:
            return f"{r.status_code} {r.get_data()[:200]!r}"
        if expect is not None and (r.status_code, r.get_json(silent=True)) != (400, {"detail": expect}):
            return f"{r.status_code} {r.get_data()[:200]!r}, not 400 {expect!r}"
        if 400 <= r.status_code < 500 and self.services.store.head() != head:
            return f"{r.status_code} but the log grew from {head} to {self.services.store.head()}"
        for name, value in r.headers.items():
            try:
                value.encode("ascii" if name == "Link" else "latin-1")
            except UnicodeEncodeError:
                return f"header {name} cannot be sent: {value!r}"
        return ""

    def relay_headers(self, body: bytes) -> dict[str, str]:
        return {
            "X-Sentry-Relay-Id": self.relay.relay_id,
            "X-Sentry-Relay-Signature": self.relay.secret.sign(body),
        }


def _resolve(document: dict[str, Any], schema: Any) -> Any:
    """The schema with every ``$ref`` replaced; ``anyOf``/``oneOf`` by their first object."""
    if isinstance(schema, list):
        return [_resolve(document, s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return _resolve(document, document["components"]["schemas"][name])
    for combined in ("anyOf", "oneOf", "allOf"):
        if combined in schema:
            options = [_resolve(document, s) for s in schema[combined]]
            return next((o for o in options if o.get("type") not in (None, "null")), options[0])
    return {k: _resolve(document, v) for k, v in schema.items()}


def operations(document: dict[str, Any]) -> list[Operation]:
    """Every operation; deletions last (longest path first), so they take nothing away early."""
    found = []
    for path, item in document["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            parameters = [*item.get("parameters", []), *op.get("parameters", [])]
            content = op.get("requestBody", {}).get("content", {})
            body = content.get("application/json", {}).get("schema")
            security = op.get("security", [])
            found.append(
                Operation(
                    method.upper(),
                    path,
                    _resolve(document, body) if body else None,
                    tuple(p["name"] for p in parameters if p["in"] == "query"),
                    any("relaySignature" in s for s in security),
                )
            )
    return sorted(found, key=lambda o: (o.method == "DELETE", -len(o.path) if o.method == "DELETE" else 0))


def _properties(schema: dict[str, Any] | None) -> dict[str, Any]:
    props = (schema or {}).get("properties") or {}
    return props or {"value": {"type": "string"}}


def _is_object(schema: dict[str, Any]) -> bool:
    types = schema.get("type")
    return "object" in (types if isinstance(types, list) else [types]) or "properties" in schema


def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def deep_body(schema: dict[str, Any] | None, depth: int) -> bytes:
    """Every property holds a value that brings the whole body to ``depth`` levels exactly
    (an object property gets it one level down, as an option value would be)."""
    items = []
    for name, prop in _properties(schema).items():
        value = f'{{"deep": {_deep(depth - 2)}}}' if _is_object(prop) else _deep(depth - 1)
        items.append(f"{json.dumps(name)}: {value}")
    return ("{" + ", ".join(items) + "}").encode()


def filled(schema: dict[str, Any], value: Any) -> Any:
    """``value`` in every leaf of ``schema`` (objects and arrays followed)."""
    if "properties" in schema:
        return {k: filled(v, value) for k, v in schema["properties"].items()}
    if schema.get("type") == "array" or "items" in schema:
        return [filled(schema.get("items") or {}, value)]
    return value


def raw_body(schema: dict[str, Any] | None, literal: bytes) -> bytes:
    """A body whose every property is the JSON text ``literal`` (which ``json.dumps`` can't write)."""
    return b"{" + b", ".join(json.dumps(n).encode() + b": " + literal for n in _properties(schema)) + b"}"


def sweep_operation(sweep: Sweep, op: Operation) -> None:
    schema = op.body
    props = _properties(schema)
    sweep.send(op, "surrogate bytes", raw_body(schema, b'"a\xed\xa0\x80b"'), expect=SURROGATE)
    for depth in REFUSED_DEPTHS:
        sweep.send(op, f"nested {depth}", deep_body(schema, depth), expect=MALFORMED_JSON)
    for literal in NOT_NUMBERS:
        sweep.send(op, literal, raw_body(schema, literal.encode()), expect=MALFORMED_JSON)
    for name, prop in props.items():  # one field at a time, so that the others cannot fail first
        only = {"properties": {name: prop}}
        escaped = json.dumps({name: "a\ud800b"}).encode()  # "\ud800" as an escape
        sweep.send(op, f"{name}: surrogate escape", escaped, expect=SURROGATE)
        sweep.send(op, f"{name}: nested {MAX_JSON_DEPTH}", deep_body(only, MAX_JSON_DEPTH))
        for number in HUGE if name != "slug" else ():
            sweep.send(op, f"{name}: {number}", json.dumps(filled(only, number)).encode())
    for name in {*op.query, "cursor", "per_page"}:
        sweep.send(op, f"?{name}= invalid UTF-8", query=f"{name}=%ED%A0%80", expect=INVALID_URL)
        for number in HUGE:
            sweep.send(op, f"?{name}={number}", query=f"{name}={number}")
    if "cursor" in op.query:
        for cursor in CURSORS_OUT_OF_RANGE:
            sweep.send(op, f"cursor {cursor[:30]}", query=f"cursor={cursor}", expect=INVALID_CURSOR)
        for cursor in OTHER_CURSORS:
            sweep.send(op, f"cursor {cursor[:30]}", query=f"cursor={cursor}")
    for name in _path_parameters(op.path):
        for value in PATH_VALUES:
            sweep.send(op, f"{{{name}}}={value!r}", path=op.path.format(**{**sweep.targets, name: value}))
        sent = op.path.format(**{**sweep.targets, name: "@"}).encode()  # as WSGI has it: bytes as latin-1
        raw = sent.decode("latin-1").replace("@", "a\xed\xa0\x80b")  # a surrogate's UTF-8 bytes
        sweep.send(op, f"{{{name}}} invalid UTF-8", raw_path=raw, path="/x", expect=INVALID_URL)


def _path_parameters(path: str) -> Iterator[str]:
    return (part[1:-1] for part in path.split("/") if part.startswith("{"))


def _targets(client: FlaskClient, tenant: Tenant, headers: dict[str, str]) -> dict[str, str]:
    project = f"/api/0/projects/{tenant.org_slug}/{tenant.project_slug}"
    key = client.post(f"{project}/keys/", json={"name": "hostile"}, headers=headers)
    release = client.post(f"{project}/releases/", json={"version": VERSION}, headers=headers)
    issue = client.post(f"{project}/issues/", json={"title": "hostile"}, headers=headers)
    team = client.post(
        f"/api/0/organizations/{tenant.org_slug}/teams/", json={"slug": "hostile"}, headers=headers
    )
    token = client.post(
        f"/api/0/organizations/{tenant.org_slug}/org-auth-tokens/", json={"name": "hostile"}, headers=headers
    )
    deploy = client.post(
        f"/api/0/organizations/{tenant.org_slug}/releases/{VERSION}/deploys/",
        json={"environment": "hostile"},
        headers=headers,
    )
    assert [r.status_code for r in (key, release, issue, team, token, deploy)] == [201] * 6
    return {
        "org_slug": tenant.org_slug,
        "project_slug": tenant.project_slug,
        "key_id": key.get_json()["id"],
        "version": VERSION,
        "issue_id": str(issue.get_json()["id"]),
        "team_slug": team.get_json()["slug"],
        "token_id": token.get_json()["id"],
        "environment": "hostile",
    }


def test_hostile_input_on_every_operation_is_never_a_5xx_and_a_4xx_appends_nothing(
    client: FlaskClient, services: Services, tenant: Tenant
) -> None:
    token, _ = make_token(services, tenant.org_id, ALL_SCOPES)
    headers = tenant.headers(token)
    relay = RelayClient(client)  # internal, so that project config fetches reach their body checks
    services.settings = dataclasses.replace(services.settings, internal_relays=frozenset({str(relay.public)}))
    assert relay.register().status_code == 200
    sweep = Sweep(client, services, headers, relay, _targets(client, tenant, headers))
    document = client.get("/api/0/openapi.json").get_json()
    ops = operations(document)
    assert len(ops) >= 45
    for op in ops:
        sweep_operation(sweep, op)
    assert not sweep.failures, "\n".join(sweep.failures[:40])
    refused = {label for label, statuses in sweep.statuses.items() if statuses[400]}
    assert refused == {op.label for op in ops}  # the screen answered on every route
    services.engine.catch_up_all()
    assert min(services.engine.positions().values()) == services.store.head()  # no view stopped
    for op in ops:  # what was accepted (values nested to the limit, large numbers) reads back
        if op.method == "GET":
            sweep.send(op, "read back")
    assert not sweep.failures, "\n".join(sweep.failures)


# Finding 5 of issue 10, each reproduction as it was sent.


def test_a_lone_surrogate_is_a_400_and_appends_nothing(
    client: FlaskClient, services: Services, tenant: Tenant
) -> None:
    """Event encoding raised ``UnicodeEncodeError``: a 500 on every write route."""
    project = f"/api/0/projects/{tenant.org_slug}/{tenant.project_slug}/"
    head = services.store.head()
    for path, body in (
        (project, '{"name": "\\ud800"}'),
        (project, '{"options": {"mail:subject_prefix": "x\\udfff"}}'),
        (project + "keys/", '{"name": "\\ud800"}'),
        (project + "releases/", '{"version": "1.0", "ref": "\\ud800"}'),
    ):
        method = "PUT" if path == project else "POST"
        r = client.open(
            path, method=method, data=body, content_type="application/json", headers=tenant.headers()
        )
        detail = SURROGATE if "ud800" in body else "Surrogate characters are not allowed: U+DFFF."
        assert (r.status_code, r.get_json()) == (400, {"detail": detail}), path
    assert services.store.head() == head


def test_json_nested_past_the_limit_is_a_400_on_every_route_that_reads_it(
    client: FlaskClient, tenant: Tenant
) -> None:
    """Option values nested 485-990 deep and an assembly 490 deep raised ``RecursionError``."""
    project = f"/api/0/projects/{tenant.org_slug}/{tenant.project_slug}/"
    for depth in (MAX_JSON_DEPTH + 1, 485, 990):
        for method, path, body in (
            ("PUT", project, '{"options": {"sentry:x": %s}}'),
            ("POST", project + "files/difs/assemble/", '{"a": {"name": "x", "chunks": %s}}'),
        ):
            data = body % _deep(depth - 2)  # in two objects: the whole body is `depth` deep
            r = client.open(
                path, method=method, data=data, content_type="application/json", headers=tenant.headers()
            )
            assert (r.status_code, r.get_json()) == (400, {"detail": MALFORMED_JSON}), (path, depth)


def test_a_relay_request_with_infinity_or_a_lone_surrogate_is_a_400(
    client: FlaskClient, services: Services
) -> None:
    relay = RelayClient(client)  # internal: Sentry answers any other relay's fetch with a 403
    services.settings = dataclasses.replace(services.settings, internal_relays=frozenset({str(relay.public)}))
    assert relay.register().status_code == 200
    body = b'{"projects": [Infinity]}'
    r = relay.post_raw("/api/0/relays/projectconfigs/?version=1", body, relay.secret.sign(body))
    assert (r.status_code, r.get_json()) == (400, {"detail": MALFORMED_JSON})
    r = relay.project_configs({"publicKeys": ["\ud800"]})
    assert (r.status_code, r.get_json()) == (400, {"detail": SURROGATE})
    r = relay.project_configs({"projects": [2**70]}, version=1)
    assert (r.status_code, r.get_json()) == (400, {"detail": "projects must be a list of project ids"})


def test_cursors_past_the_64_bit_range_are_a_400(client: FlaskClient, tenant: Tenant) -> None:
    """They reached the SQL OFFSET: ``OverflowError`` on SQLite, ``bigint out of range`` on PostgreSQL."""
    org = f"/api/0/organizations/{tenant.org_slug}"
    r = client.post(
        f"{org}/releases/",
        json={"version": "1.0", "projects": [tenant.project_slug]},
        headers=tenant.headers(),
    )
    assert r.status_code == 201, r.get_json()
    lists = (
        f"{org}/releases/",
        f"{org}/releases/1.0/commits/",
        f"{org}/releases/1.0/deploys/",
        f"{org}/repos/",
    )
    for path in lists:
        for cursor in (f"100:{2**70}:0", "1:9223372036854775808:0"):
            r = client.get(path, query_string={"cursor": cursor}, headers=tenant.headers())
            assert (r.status_code, r.get_json()) == (400, {"detail": INVALID_CURSOR}), (path, cursor)
        r = client.get(path, query_string={"cursor": "9223372036854775807:1:0"}, headers=tenant.headers())
        assert (r.status_code, r.get_json()) == (400, {"detail": "Pagination offset too large"}), path
        assert (
            client.get(path, query_string={"cursor": "100:1:0"}, headers=tenant.headers()).status_code == 200
        )


def test_a_non_ascii_release_version_is_percent_encoded_in_the_link_header(
    client: FlaskClient, tenant: Tenant
) -> None:
    """The ``Link`` header held the version as is: gunicorn cannot send that (a 500)."""
    org = f"/api/0/organizations/{tenant.org_slug}"
    r = client.post(
        f"{org}/releases/",
        json={"version": VERSION, "projects": [tenant.project_slug]},
        headers=tenant.headers(),
    )
    assert r.status_code == 201, r.get_json()
    r = client.get(f"{org}/releases/1%E2%80%930/deploys/", headers=tenant.headers())
    assert r.status_code == 200
    link = r.headers["Link"]
    assert link.isascii() and "/releases/1%E2%80%930/deploys/?cursor=100%3A1%3A0>" in link, link
    following = link.split(", ")[1].split(">")[0].removeprefix("<http://localhost")
    assert client.get(following, headers=tenant.headers()).status_code == 200  # as sentry-cli follows it
