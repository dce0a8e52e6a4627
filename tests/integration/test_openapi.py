"""The OpenAPI document at ``/api/0/openapi.json``: it covers every route the app registers (a
route without a declaration fails the build), reads each route's scopes from its view function,
lists every route in docs/api.md, and describes exactly what the routes return: a walk through
every operation with valid requests validates each response against the document."""

from __future__ import annotations

import dataclasses
import io
import json
import re
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from flask import Blueprint
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator

from api import openapi
from api.app import create_app
from infra.assemble import job_runner
from infra.bootstrap import Services
from tests.conftest import Tenant, make_tenant
from tests.integration.uploading import poll, sha1, upload
from tests.relay_client import RelayClient

ROOT = Path(__file__).resolve().parents[2]
ALL_SCOPES = (
    "org:read", "org:write", "org:admin", "project:read", "project:write", "project:admin",
    "project:releases", "event:read", "event:write", "org:integrations",
)  # fmt: skip


@pytest.fixture
def document(client: FlaskClient) -> dict[str, Any]:
    r = client.get("/api/0/openapi.json")  # no Authorization header
    assert r.status_code == 200, r.get_json()
    return dict(r.get_json())


def test_every_route_the_app_registers_is_documented(client: FlaskClient, document: dict[str, Any]) -> None:
    app = client.application
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    registered = set()
    for rule in app.url_map.iter_rules():
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            if openapi.is_api(rule.rule):  # the console's pages are HTML for people
                registered.add((openapi.openapi_path(rule.rule), method.lower()))
    assert registered == documented
    assert any(p.startswith("/api/0/") for p, _ in registered) and ("/healthz", "get") in registered
    assert openapi.undocumented(app) == []
    assert document["openapi"] == "3.1.0"


def test_a_route_without_a_declaration_fails_the_build(services: Services) -> None:
    app = create_app(services)
    extra = Blueprint("extra", __name__)
    extra.add_url_rule("/organizations/<org_slug>/new-thing/", "new_thing", lambda org_slug: "")
    app.register_blueprint(extra, url_prefix="/api/0")
    assert openapi.undocumented(app) == ["GET /api/0/organizations/{org_slug}/new-thing/ (extra.new_thing)"]
    with pytest.raises(openapi.Undocumented, match=r"extra\.new_thing"):
        openapi.build(app)


def test_every_declaration_names_a_registered_route(client: FlaskClient, document: dict[str, Any]) -> None:
    endpoints = {rule.endpoint for rule in client.application.url_map.iter_rules()}
    assert {op["operationId"] for _, _, op in _ops(document)} - endpoints == set()


def test_the_document_is_valid_json_schema_throughout(document: dict[str, Any]) -> None:
    for name, schema in document["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema), name
    for path, item in document["paths"].items():
        for method, op in item.items():
            assert op["responses"], (method, path)
            for status, response in op["responses"].items():
                for media in response.get("content", {}).values():
                    Draft202012Validator.check_schema(media["schema"]), (method, path, status)


def _ops(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in document["paths"].items() for method, op in item.items()]


def test_scopes_and_auth_schemes_come_from_the_routes(client: FlaskClient, document: dict[str, Any]) -> None:
    app = client.application
    for path, method, op in _ops(document):
        view = app.view_functions[op["operationId"]]
        if path.startswith("/api/0/relays/"):
            assert op["security"] == [{"relayId": [], "relaySignature": []}], path
        elif path in ("/api/0/", "/api/0/openapi.json", "/healthz", "/readyz", "/metrics"):
            assert "x-scopes" not in op, path
        else:
            assert op["x-scopes"] == list(view.required_scopes), path
            assert op["security"] == [{"bearerAuth": [s]} for s in view.required_scopes]
            assert {"401", "403", "404"} <= set(op["responses"]), (method, path)
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}
    assert schemes["relaySignature"]["name"] == "X-Sentry-Relay-Signature"
    assert schemes["relayId"]["name"] == "X-Sentry-Relay-Id"


def test_request_bodies_are_the_schemas_the_routes_load_with(document: dict[str, Any]) -> None:
    def body(path: str, method: str) -> dict[str, Any]:
        return dict(document["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"])

    schemas = document["components"]["schemas"]
    visibility = "/api/0/projects/{org_slug}/{project_slug}/metrics/visibility/"
    assert body(visibility, "put") == {"$ref": "#/components/schemas/MetricVisibilityRequest"}
    assert schemas["MetricVisibilityRequest"]["required"] == ["metricMri", "operationType"]
    org = schemas[body("/api/0/organizations/{org_slug}/", "put")["$ref"].rsplit("/", 1)[1]]
    assert org["properties"]["storeCrashReports"] == {"type": "integer", "minimum": -1, "maximum": 100}
    assert org["properties"]["defaultRole"]["enum"] == ["member", "admin", "manager", "owner"]
    audit = document["paths"]["/api/0/organizations/{org_slug}/audit-logs/"]["get"]["parameters"]
    assert {p["name"] for p in audit if p["in"] == "query"} >= {"event", "actor", "cursor", "per_page"}


def route_index(document: dict[str, Any]) -> list[str]:
    return sorted(f"{method.upper()} {path}" for path, method, _ in _ops(document))


def test_docs_api_md_lists_every_route_of_the_document(document: dict[str, Any]) -> None:
    text = (ROOT / "docs" / "api.md").read_text()
    block = text.split("<!-- routes:start -->")[1].split("<!-- routes:end -->")[0]
    listed = sorted(re.findall(r"^\| `([A-Z]+ [^`]+)` \|", block, flags=re.M))
    assert listed == route_index(document), "regenerate with: eventry openapi --routes-markdown"
    assert block.strip() == openapi.routes_markdown(document).strip()


# ---- every operation, with valid requests, against the document -----------------------------


class Walk:
    """Calls operations by their document path and validates each response against it."""

    def __init__(self, client: FlaskClient, document: dict[str, Any], t: Tenant) -> None:
        self.client, self.document, self.t = client, document, t
        self.succeeded: set[tuple[str, str]] = set()
        self.position = "0"  # of the last write: reads wait for it

    def __call__(self, method: str, template: str, status: int | tuple[int, ...] = 200, **kwargs: Any) -> Any:
        values = {"org_slug": self.t.org_slug, "project_slug": self.t.project_slug, **kwargs.pop("path", {})}
        url = re.sub(r"{([^}]+)}", lambda m: quote(str(values[m.group(1)]), safe=""), template)
        kwargs.setdefault("headers", self.t.headers(**{"X-Eventry-Min-Position": self.position}))
        r = self.client.open(url + kwargs.pop("query", ""), method=method, **kwargs)
        if method != "GET" and r.status_code < 300 and "X-Eventry-Position" in r.headers:
            self.position = r.headers["X-Eventry-Position"]
        wanted = status if isinstance(status, tuple) else (status,)
        assert r.status_code in wanted, (method, url, r.status_code, r.get_data(as_text=True)[:500])
        self.validate(method, template, r)
        if r.status_code < 300:
            self.succeeded.add((method.lower(), template))
        return r.get_json(silent=True)

    def validate(self, method: str, template: str, r: Any) -> None:
        responses = self.document["paths"][template][method.lower()]["responses"]
        assert str(r.status_code) in responses, (method, template, r.status_code)
        spec = responses[str(r.status_code)]
        if "content" not in spec:
            assert r.get_data() == b"", (method, template)
            return
        media, content = next(iter(spec["content"].items()))
        assert r.mimetype == media, (method, template, r.mimetype)
        if media == "application/json":
            schema = {**content["schema"], "components": self.document["components"]}
            errors = sorted(Draft202012Validator(schema).iter_errors(r.get_json()), key=str)
            assert not errors, (method, template, [f"{list(e.absolute_path)}: {e.message}" for e in errors])


@pytest.fixture
def walk(client: FlaskClient, services: Services, document: dict[str, Any]) -> Walk:
    return Walk(client, document, make_tenant(services, scopes=ALL_SCOPES))


ORG, P = "/api/0/organizations/{org_slug}", "/api/0/projects/{org_slug}/{project_slug}"


def test_every_operation_answers_as_documented(walk: Walk, client: FlaskClient, tmp_path: Path) -> None:
    walk_operations(walk)
    walk_releases(walk, tmp_path)
    walk_environments(walk)
    walk_uploads(walk)
    walk_relays(walk, client)
    walk_org_auth_tokens(walk)
    assert walk.succeeded == {(m, p) for p, m, _ in _ops(walk.document)}


def walk_org_auth_tokens(walk: Walk) -> None:
    tokens, one = ORG + "/org-auth-tokens/", ORG + "/org-auth-tokens/{token_id}/"
    made = walk("POST", tokens, 201, json={"name": "ci"})
    walk("POST", tokens, 400, json={})
    walk("GET", tokens)
    path = {"token_id": made["id"]}
    walk("GET", one, path=path)
    walk("PUT", one, 204, path=path, json={"name": "renamed"})
    walk("PUT", one, 400, path=path, json={"name": ""})
    walk("DELETE", one, 204, path=path)
    walk("GET", one, 404, path=path)


def walk_environments(walk: Walk) -> None:
    """After ``walk_releases``: its deploy made ``production``, an environment of the project."""
    one, path = P + "/environments/{environment}/", {"environment": "production"}
    walk("GET", ORG + "/environments/", query="?visibility=all")
    walk("GET", ORG + "/environments/", 400, query="?visibility=nope")
    walk("GET", P + "/environments/")
    walk("GET", P + "/environments/", 400, query="?visibility=nope")
    walk("GET", one, path=path)
    walk("GET", one, 404, path={"environment": "none"})
    assert walk("PUT", one, path=path, json={"isHidden": True})["isHidden"] is True
    walk("PUT", one, 400, path=path, json={"isHidden": "maybe"})
    hidden = walk("PUT", P + "/environments/", json={"environmentNames": ["production"], "isHidden": False})
    assert [e["isHidden"] for e in hidden] == [False]
    walk("PUT", P + "/environments/", 400, json={"environmentNames": []})


def walk_operations(walk: Walk) -> None:
    walk("GET", "/healthz")
    walk("GET", "/readyz")
    walk("GET", "/metrics")
    walk("GET", "/api/0/openapi.json", headers={})
    walk("GET", "/api/0/", headers={})
    walk("GET", "/api/0/")
    walk("GET", "/api/0/", 401, headers={"Authorization": "Bearer nope"})
    walk("GET", ORG + "/")
    relay_key = "nDJl79SbEYH9-8NEJAI7ezrgYfolPW3Bnkg00k1zOfA"
    updated = walk(
        "PUT", ORG + "/", json={"name": "Renamed", "trustedRelays": [{"name": "r", "publicKey": relay_key}]}
    )
    assert updated["trustedRelays"][0]["publicKey"] == relay_key
    walk("PUT", ORG + "/", 400, json={"storeCrashReports": "many"})
    walk("GET", ORG + "/", query="?detailed=0")
    assert walk("DELETE", ORG + "/", 202)["status"]["id"] == "pending_deletion"
    assert walk("PUT", ORG + "/", json={"cancelDeletion": True})["status"]["id"] == "active"
    walk("GET", ORG + "/options/")
    walk("GET", ORG + "/projects/")
    created = walk("POST", ORG + "/projects/", 201, json={"name": "Second", "platform": "python"})
    walk("POST", ORG + "/projects/", 400, json={})
    walk("POST", ORG + "/teams/", 201, json={"slug": "core"})
    walk("POST", ORG + "/teams/", 409, json={"slug": "core"})
    walk("POST", ORG + "/teams/", 400, json={})
    walk(
        "POST",
        "/api/0/teams/{org_slug}/{team_slug}/projects/",
        201,
        path={"team_slug": "core"},
        json={"name": "T"},
    )
    walk("GET", ORG + "/teams/")
    walk("GET", ORG + "/teams/", query="?detailed=0")
    walk("GET", ORG + "/audit-logs/", query="?per_page=1")
    walk("GET", ORG + "/audit-logs/", 400, query="?actor=x")
    walk(
        "PUT",
        P + "/metrics/visibility/",
        json={"operationType": "blockTags", "metricMri": "c:custom/x@none", "tags": ["a"]},
    )
    walk("PUT", P + "/metrics/visibility/", 400, json={"operationType": "nope"})
    walk("GET", P + "/")
    walk("PUT", P + "/", json={"options": {"sentry:origins": ["example.com"]}, "name": "Web"})
    walk("GET", P + "/options/")
    walk("GET", P + "/options/", 400, query="?at_position=x")
    walk("GET", P + "/", 404, path={"project_slug": "missing"})
    walk("GET", P + "/", 401, headers={})
    key = walk("POST", P + "/keys/", 201, json={"name": "k", "rateLimit": {"count": 10, "window": 60}})
    walk("GET", P + "/keys/", query="?status=active")
    walk("GET", P + "/keys/{key_id}/", path={"key_id": key["id"]})
    walk(
        "PUT", P + "/keys/{key_id}/", path={"key_id": key["id"]}, json={"isActive": False, "rateLimit": None}
    )
    walk("PUT", P + "/keys/{key_id}/", 400, path={"key_id": key["id"]}, json={"rateLimit": {"count": -1}})
    walk("DELETE", P + "/keys/{key_id}/", 204, path={"key_id": key["id"]})
    walk("DELETE", P + "/", 204, path={"project_slug": created["slug"]})
    walk("GET", P + "/", 400, headers=walk.t.headers(**{"X-Eventry-Min-Position": "99999999"}))


def walk_releases(walk: Walk, tmp_path: Path) -> None:
    commit = {"id": "a" * 40, "repository": "acme/app", "message": "fix", "author_email": "dev@example.com"}
    walk("POST", ORG + "/releases/", 201, json={"version": "app@1.0.0", "projects": [walk.t.project_slug]})
    walk("POST", ORG + "/releases/", 208, json={"version": "app@1.0.0", "projects": [walk.t.project_slug]})
    walk("POST", ORG + "/releases/", 400, json={"version": "", "projects": []})
    walk("POST", P + "/releases/", 201, json={"version": "app@2.0.0+build"})
    walk("PUT", ORG + "/releases/{version}/", path={"version": "app@2.0.0+build"}, json={"commits": [commit]})
    walk("PUT", ORG + "/releases/{version}/", 400, path={"version": "app@1.0.0"}, json={"dateReleased": "x"})
    walk("GET", ORG + "/releases/", query="?per_page=1")
    walk("GET", ORG + "/releases/", 400, query="?per_page=x")
    walk("GET", ORG + "/releases/", query="?query=semver:>=1.0.0&sort=semver&adoptionStages=1")
    walk("GET", ORG + "/releases/", 400, query="?query=nope:1")
    walk("GET", ORG + "/releases/", 400, query="?start=null&end=null")
    walk("GET", ORG + "/releases/stats/", query="?query=release:app*")
    walk("GET", P + "/releases/")
    walk("GET", ORG + "/releases/{version}/", path={"version": "app@2.0.0+build"})
    walk("GET", ORG + "/releases/{version}/", 404, path={"version": "missing"})
    walk("GET", ORG + "/releases/{version}/commits/", path={"version": "app@2.0.0+build"})
    walk("GET", ORG + "/releases/{version}/previous-with-commits/", path={"version": "app@2.0.0+build"})
    deploy = {"environment": "production", "name": "d1", "url": "https://example.com/d1"}
    walk("POST", ORG + "/releases/{version}/deploys/", 201, path={"version": "app@1.0.0"}, json=deploy)
    walk("GET", ORG + "/releases/{version}/deploys/", path={"version": "app@1.0.0"})
    walk("DELETE", ORG + "/releases/{version}/", 204, path={"version": "app@1.0.0"})
    walk("POST", P + "/releases/", 201, json={"version": "app@3.0.0"})
    walk("GET", P + "/releases/{version}/", path={"version": "app@3.0.0"})
    walk("GET", P + "/releases/{version}/", 404, path={"version": "missing"})
    walk("PUT", P + "/releases/{version}/", path={"version": "app@3.0.0"}, json={"ref": "main"})
    walk("PUT", P + "/releases/{version}/", 400, path={"version": "app@3.0.0"}, json={"commits": None})
    walk("DELETE", P + "/releases/{version}/", 204, path={"version": "app@3.0.0"})
    walk("GET", ORG + "/repos/")
    local = tmp_path / "var" / "git" / str(walk.t.org_id) / "repo"  # the default root of the org
    local.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(local)], check=True)
    walk("POST", ORG + "/repos/", 201, json={"provider": "git", "name": "acme/local", "url": local.as_uri()})
    walk("POST", ORG + "/repos/", 400, json={"provider": "svn"})
    walk("POST", ORG + "/repos/", 400, json={"provider": "git", "name": "x/y", "url": tmp_path.as_uri()})
    issue = walk("POST", P + "/issues/", 201, json={"title": "Boom", "culprit": "app.py"})
    for suffix in ("", "activities/", "history/"):
        walk("GET", ORG + "/issues/{issue_id}/" + suffix, path={"issue_id": issue["id"]})


def walk_uploads(walk: Walk) -> None:
    walk("GET", ORG + "/chunk-upload/")
    chunk = b"chunk of a bundle"
    data = {"file": [(io.BytesIO(chunk), sha1(chunk))]}
    walk("POST", ORG + "/chunk-upload/", data=data, content_type="multipart/form-data")
    walk(
        "POST",
        ORG + "/chunk-upload/",
        data={"file": [(io.BytesIO(b"x"), "not-a-sha1")]},
        content_type="multipart/form-data",
        status=400,
    )
    missing = "f" * 40
    bundle = {"checksum": missing, "chunks": [missing], "projects": [walk.t.project_slug]}
    walk("POST", ORG + "/artifactbundle/assemble/", json=bundle)
    walk("POST", ORG + "/artifactbundle/assemble/", 400, json={"checksum": "x"})
    walk("POST", P + "/files/difs/assemble/", json={missing: {"name": "a.debug", "chunks": [missing]}})
    walk("POST", P + "/files/difs/assemble/", 400, data="nope", content_type="application/json")


def walk_relays(walk: Walk, client: FlaskClient) -> None:
    relay = RelayClient(client)
    challenge = relay.signed(
        "/api/0/relays/register/challenge/",
        {"relay_id": relay.relay_id, "public_key": str(relay.public), "version": relay.version},
    )
    walk.validate("POST", "/api/0/relays/register/challenge/", challenge)
    response = relay.signed(
        "/api/0/relays/register/response/",
        {"relay_id": relay.relay_id, "token": challenge.get_json()["token"], "version": relay.version},
    )
    walk.validate("POST", "/api/0/relays/register/response/", response)
    unknown = relay.signed("/api/0/relays/register/challenge/", {"relay_id": relay.relay_id, "version": "x"})
    walk.validate("POST", "/api/0/relays/register/challenge/", unknown)
    live = client.get(
        "/api/0/relays/live/",
        headers={"X-Sentry-Relay-Id": relay.relay_id, "X-Sentry-Relay-Signature": relay.secret.sign(b"")},
    )
    walk.validate("GET", "/api/0/relays/live/", live)
    body = {"publicKeys": ["0" * 32], "projects": [1], "global": True, "fullConfig": True}
    refused = relay.project_configs(body, 3)  # Sentry serves configs to internal relays only
    walk.validate("POST", "/api/0/relays/projectconfigs/", refused)
    svc = client.application.extensions["eventry"]
    svc.settings = dataclasses.replace(svc.settings, internal_relays=frozenset({str(relay.public)}))
    for version in (1, 2, 3):
        configs = relay.project_configs(body, version)
        walk.validate("POST", "/api/0/relays/projectconfigs/", configs)
    statuses = [challenge.status_code, response.status_code, live.status_code, refused.status_code]
    assert statuses == [200, 200, 200, 403] and unknown.status_code == 400, unknown.get_json()
    assert configs.status_code == 200 and "pending" in json.loads(configs.get_data())  # v3, full
    walk.succeeded |= {(m, p) for p, m, _ in _ops(walk.document) if p.startswith("/api/0/relays/")}


def test_an_assembled_debug_file_answers_as_documented(
    walk: Walk, services: Services, tmp_path: Path
) -> None:
    source = tmp_path / "hello.c"
    source.write_text('#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n')
    subprocess.run(["gcc", "-g", "-o", str(tmp_path / "hello"), str(source)], check=True)
    elf = (tmp_path / "hello").read_bytes()
    assert upload(walk.client, walk.t, [elf]).status_code == 200
    body = {sha1(elf): {"name": "hello", "chunks": [sha1(elf)]}}
    runner = job_runner(services)
    thread = runner.start()
    try:
        done = poll(
            lambda: walk("POST", P + "/files/difs/assemble/", json=body)[sha1(elf)],
            lambda state: state["state"] == "ok",
        )
    finally:
        runner.shutdown(thread)
    assert done["dif"]["objectName"] == "hello"  # every response on the way validated against the document
