"""The property the option registry (and every edge check) exists for: a write the API accepts
appends only events every projection can fold. Schemathesis generates requests, valid and
invalid, for every write operation (POST, PUT, DELETE) of the served OpenAPI document, with a
token of every scope, the tenant's real project, key, release and issue in the paths, and
signed Relay requests; after each one every projection catches up with no handler error and
nothing parked, and no request is answered with a 5xx."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from typing import Any

import hypothesis
import schemathesis
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Phase, strategies
from schemathesis import GenerationMode

from events.option_registry import PROJECT_OPTIONS
from infra.bootstrap import Services
from tests.conftest import Tenant, make_token
from tests.relay_client import RelayClient

EXAMPLES = int(os.environ.get("EVENTRY_FOLD_EXAMPLES", "3"))
# Operations that store typed values many views read get more examples.
TYPED = {
    "projects.update_project": 8,
    "project_keys.create_project_key": 4,
    "project_keys.update_project_key": 4,
    "organizations.update_organization": 4,
    "metrics.metrics_visibility": 3,
}
WRITES = {"POST", "PUT", "DELETE"}
SCOPES = (
    "org:read", "org:write", "org:admin", "org:integrations", "org:ci", "project:read", "project:write",
    "project:admin", "project:releases", "event:read", "event:write", "event:admin",
)  # fmt: skip
# Generated values of these would answer 400/422 before the route: a random read-your-writes
# position, or one idempotency key reused for different requests.
IGNORED_HEADERS = ("X-Eventry-Min-Position", "Idempotency-Key")
# Keys of the body left out: a slug change would take the later examples' targets away, and a
# random platform is refused before the options are looked at.
DROPPED = {"projects.update_project": ("slug", "platform"), "organizations.update_organization": ("slug",)}


class Targets:
    """Path parameters: the tenant's own, and fresh ones for the operations that destroy."""

    def __init__(self, client: FlaskClient, tenant: Tenant, token: str) -> None:
        self.client, self.tenant, self.token = client, tenant, token
        self.fixed = {
            "org_slug": tenant.org_slug,
            "project_slug": tenant.project_slug,
            "key_id": self.key(),
            "version": self.release(),
            "issue_id": self.post(f"{self.project_path}issues/", {"title": "fuzzed"})["id"],
            "environment": self.environment(),
        }
        self.fresh: dict[str, Callable[[], dict[str, str]]] = {
            "projects.delete_project": lambda: {"project_slug": self.project()},
            "project_keys.delete_project_key": lambda: {"key_id": self.key()},
            "releases.delete_release": lambda: {"version": self.release()},
        }

    @property
    def project_path(self) -> str:
        return f"/api/0/projects/{self.tenant.org_slug}/{self.tenant.project_slug}/"

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = self.client.post(path, json=body, headers={"Authorization": f"Bearer {self.token}"})
        assert r.status_code == 201, r.get_json()
        return dict(r.get_json())

    def key(self) -> str:
        return str(self.post(f"{self.project_path}keys/", {"name": "target"})["public"])

    def release(self) -> str:
        return str(
            self.post(f"{self.project_path}releases/", {"version": f"t{secrets.token_hex(4)}"})["version"]
        )

    def environment(self) -> str:
        """An environment of the tenant's project (a deploy makes it)."""
        path = f"/api/0/organizations/{self.tenant.org_slug}/releases/{self.release()}/deploys/"
        return str(self.post(path, {"environment": "fuzzed"})["environment"])

    def project(self) -> str:
        path = f"/api/0/organizations/{self.tenant.org_slug}/projects/"
        return str(self.post(path, {"name": f"doomed {secrets.token_hex(3)}"})["slug"])

    def for_operation(self, operation_id: str, path: str) -> dict[str, str]:
        values = {**self.fixed, **self.fresh.get(operation_id, dict)()}
        return {name: value for name, value in values.items() if "{" + name + "}" in path}


def _send(client: FlaskClient, case: Any, relay: RelayClient | None) -> Any:
    """The request as schemathesis's WSGI transport builds it; Relay requests signed over
    their exact body."""
    kwargs = case.as_transport_kwargs()
    headers = dict(kwargs.get("headers") or {})
    if "json" in kwargs:
        data: Any = json.dumps(kwargs["json"]).encode()
        headers.setdefault("Content-Type", "application/json")
    else:
        data = kwargs.get("data")
    if relay is not None:
        raw = data if isinstance(data, bytes) else (data or "").encode()
        headers.update(
            {
                "Content-Type": "application/json",
                "X-Sentry-Relay-Id": relay.relay_id,
                "X-Sentry-Relay-Signature": relay.secret.sign(raw),
            }
        )
        data = raw
    return client.open(
        kwargs["path"],
        method=kwargs["method"],
        headers=headers,
        data=data,
        query_string=kwargs.get("query_string"),
    )


def _no_handler_errors(services: Services) -> None:
    services.engine.catch_up_all()  # raises when a handler fails and nothing parks it
    if hasattr(services.engine, "parked"):
        assert services.engine.parked() == []


def test_every_accepted_write_folds_in_every_view(
    client: FlaskClient, services: Services, tenant: Tenant
) -> None:
    token, _ = make_token(services, tenant.org_id, SCOPES, "fuzz")
    targets = Targets(client, tenant, token)
    relay = RelayClient(client)
    object.__setattr__(services.settings, "internal_relays", frozenset({str(relay.public)}))
    assert relay.register().status_code == 200
    schema = schemathesis.openapi.from_wsgi("/api/0/openapi.json", client.application)
    operations = [r.ok() for r in schema.get_all_operations()]
    writes = [op for op in operations if op.method.upper() in WRITES]
    assert len(writes) >= 20, [op.label for op in writes]
    failures = {}
    for operation in writes:
        error = _fuzz(client, services, targets, token, relay, operation)
        if error:
            failures[operation.label] = error
    assert not failures, "\n".join(f"{label}: {error}" for label, error in failures.items())


def _fuzz(
    client: FlaskClient,
    services: Services,
    targets: Targets,
    token: str,
    relay: RelayClient,
    operation: Any,
) -> str | None:
    raw = operation.definition.raw
    operation_id = raw["operationId"]
    signed = any("relaySignature" in req for req in raw.get("security", []))
    headers = {} if signed else {"Authorization": f"Bearer {token}"}

    @hypothesis.settings(
        max_examples=EXAMPLES * TYPED.get(operation_id, 1),
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        report_multiple_bugs=False,
        print_blob=False,
        verbosity=hypothesis.Verbosity.quiet,
    )
    @hypothesis.given(data=strategies.data())
    def check(data: Any) -> None:
        parameters = targets.for_operation(operation_id, operation.path)
        mode = data.draw(strategies.sampled_from([GenerationMode.POSITIVE, GenerationMode.NEGATIVE]))
        case = data.draw(operation.as_strategy(mode, path_parameters=parameters, headers=headers))
        for key in DROPPED.get(operation_id, ()) if isinstance(case.body, dict) else ():
            case.body.pop(key, None)
        for name in IGNORED_HEADERS:  # each would stop the request before it could write
            (case.headers or {}).pop(name, None)
        (case.query or {}).pop("min_position", None)
        response = _send(client, case, relay if signed else None)
        sent = f"{case.method} {case.formatted_path} {str(case.body)[:300]}"
        assert response.status_code < 500, (sent, response.get_data(as_text=True)[:300])
        try:
            _no_handler_errors(services)
        except Exception as exc:
            raise AssertionError(f"after {sent} -> {response.status_code}: {exc}") from exc

    try:
        check()
    except (Exception, BaseExceptionGroup) as exc:  # hypothesis raises the minimal failing example
        return f"{type(exc).__name__}: {exc}"
    return None


SCALARS = (
    strategies.none()
    | strategies.booleans()
    | strategies.integers(min_value=-(2**80), max_value=2**80)
    | strategies.floats(allow_nan=False, allow_infinity=False)
    | strategies.text(strategies.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))
)
JSON = strategies.recursive(
    SCALARS,
    lambda inner: (
        strategies.lists(inner, max_size=3) | strategies.dictionaries(strategies.text(max_size=3), inner)
    ),
    max_leaves=6,
)
# Integers about the edges of the columns they may reach (32 and 64 bits), and past them.
COUNTS = strategies.sampled_from([2**31 - 1, 2**31, 2**63 - 1, 2**63, 2**70]) | strategies.integers(0, 2**80)
VALUES = SCALARS | JSON  # scalars twice as likely: the values a list-typed option must refuse


def test_any_option_value_is_refused_or_folds(
    client: FlaskClient, services: Services, tenant: Tenant
) -> None:
    """Every key of the option registry with any JSON value (and key rate limits with any
    integers): a 400, or a write every view folds; never a 5xx."""
    project = f"/api/0/projects/{tenant.org_slug}/{tenant.project_slug}/"
    key = Targets(client, tenant, tenant.token).key()
    keys = strategies.sampled_from(sorted(PROJECT_OPTIONS))
    bodies = strategies.one_of(
        strategies.dictionaries(keys, VALUES, min_size=1, max_size=2).map(
            lambda o: ("PUT", "", {"options": o})
        ),
        strategies.tuples(COUNTS | VALUES, strategies.integers(0, 86400)).map(
            lambda cw: ("PUT", f"keys/{key}/", {"rateLimit": {"count": cw[0], "window": cw[1]}})
        ),
    )

    @hypothesis.settings(
        max_examples=EXAMPLES * 20, deadline=None, database=None, derandomize=True,
        suppress_health_check=list(HealthCheck),
    )  # fmt: skip
    @hypothesis.given(request=bodies)
    def check(request: tuple[str, str, dict[str, Any]]) -> None:
        method, suffix, body = request
        r = client.open(project + suffix, method=method, json=body, headers=tenant.headers())
        assert r.status_code in (200, 400), (body, r.status_code, r.get_data(as_text=True)[:300])
        _no_handler_errors(services)

    check()
