"""Factories for the ported Sentry tests of projects, keys, uploads, relays and metric blocking.

Everything is set up through the public interface (HTTP routes, or the real commands the CLI
dispatches, as ``tests/conftest.py`` does) and read back through HTTP. Reads never send
``X-Eventry-Min-Position``: Sentry's tests read their own writes, so eventry must too.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import secrets
import uuid
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from sentry_relay import SecretKey, generate_key_pair

from infra.assemble import job_runner
from infra.bootstrap import Services
from tests.conftest import Tenant, make_tenant, make_token

WRITE = ("project:read", "project:write", "project:admin", "org:write")
# Sentry's tests log in as the organization's owner: every scope an owner's token can hold.
OWNER = (
    "org:read", "org:write", "org:admin", "org:integrations",
    "project:read", "project:write", "project:admin", "project:releases",
    "event:read", "event:write", "event:admin",
)  # fmt: skip
MiB = 1024 * 1024


@pytest.fixture(name="owner")
def owner_fixture(services: Services) -> Tenant:
    """Sentry's ``self.organization`` and ``self.project``, with the owner's token."""
    return make_tenant(services, scopes=OWNER)


def token_for(services: Services, t: Tenant, *scopes: str) -> str:
    """A token of the tenant's organization with exactly these scopes (Sentry's
    ``create_user_auth_token(scope_list=...)``)."""
    return make_token(services, t.org_id, tuple(scopes), label=f"scoped {secrets.token_hex(2)}")[0]


def bearer(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


def project_url(t: Tenant, slug: str | None = None) -> str:
    return f"/api/0/projects/{t.org_slug}/{slug or t.project_slug}/"


def create_project(client: FlaskClient, t: Tenant, name: str | None = None, **body: Any) -> dict[str, Any]:
    """Sentry's ``self.create_project()``: a project of the tenant's organization, with its
    default key, made through the organization's projects route."""
    name = name or f"proj-{secrets.token_hex(3)}"
    r = client.post(
        f"/api/0/organizations/{t.org_slug}/projects/", json={"name": name, **body}, headers=t.headers()
    )
    assert r.status_code == 201, r.get_json()
    return r.get_json()  # type: ignore[no-any-return]


def as_tenant(t: Tenant, project: dict[str, Any]) -> Tenant:
    """The same organization and token, addressing another of its projects."""
    return dataclasses.replace(t, project_id=int(project["id"]), project_slug=project["slug"])


def get_project(client: FlaskClient, t: Tenant, token: str | None = None, query: str = "") -> Any:
    return client.get(project_url(t) + query, headers=t.headers(token))


def put_project(client: FlaskClient, t: Tenant, body: Any, token: str | None = None) -> Any:
    return client.put(project_url(t), json=body, headers=t.headers(token))


def project_options(client: FlaskClient, t: Tenant) -> dict[str, Any]:
    """The project's options as stored (what Sentry's tests read with ``project.get_option``)."""
    r = client.get(project_url(t) + "options/", headers=t.headers())
    assert r.status_code == 200, r.get_json()
    return r.get_json()  # type: ignore[no-any-return]


def audit_rows(client: FlaskClient, t: Tenant, event: str) -> list[dict[str, Any]]:
    r = client.get(f"/api/0/organizations/{t.org_slug}/audit-logs/?event={event}", headers=t.headers())
    assert r.status_code == 200, r.get_json()
    return r.get_json()["rows"]  # type: ignore[no-any-return]


def keys_url(t: Tenant) -> str:
    return project_url(t) + "keys/"


def list_keys(client: FlaskClient, t: Tenant) -> list[dict[str, Any]]:
    r = client.get(keys_url(t), headers=t.headers())
    assert r.status_code == 200, r.get_json()
    return r.get_json()  # type: ignore[no-any-return]


def create_key(client: FlaskClient, t: Tenant, **body: Any) -> dict[str, Any]:
    r = client.post(keys_url(t), json=body, headers=t.headers())
    assert r.status_code == 201, r.get_json()
    return r.get_json()  # type: ignore[no-any-return]


def get_key(client: FlaskClient, t: Tenant, public: str) -> dict[str, Any]:
    r = client.get(keys_url(t) + f"{public}/", headers=t.headers())
    assert r.status_code == 200, r.get_json()
    return r.get_json()  # type: ignore[no-any-return]


def default_key(client: FlaskClient, t: Tenant) -> dict[str, Any]:
    """Sentry's ``ProjectKey.objects.get_or_create(project=project)[0]``: the project's key,
    made when there is none."""
    keys = list_keys(client, t)
    return keys[-1] if keys else create_key(client, t)


def with_features(services: Services, *features: str) -> None:
    """Sentry's ``self.feature(...)``: turn feature flags on for this server."""
    services.settings = dataclasses.replace(
        services.settings, features=services.settings.features | frozenset(features)
    )


def other_tenant(services: Services, scopes: tuple[str, ...] = WRITE) -> Tenant:
    return make_tenant(services, scopes=scopes)


def tenant_with(services: Services, *scopes: str) -> Tenant:
    return make_tenant(services, scopes=scopes or WRITE)


class Relay:
    """A Relay with its own key pair, signing as Relay's library does (``SecretKey.pack``)."""

    def __init__(self, client: FlaskClient, version: str = "25.11.1") -> None:
        self.client = client
        self.secret, self.public = generate_key_pair()
        self.relay_id = str(uuid.uuid4())
        self.version = version

    def post(self, path: str, payload: Any, key: SecretKey | None = None, relay_id: str | None = None) -> Any:
        body = json.dumps(payload).encode()
        return self.client.post(
            path,
            data=body,
            content_type="application/json",
            headers={
                "X-Sentry-Relay-Id": relay_id or self.relay_id,
                "X-Sentry-Relay-Signature": (key or self.secret).sign(body),
            },
        )

    def register(self) -> None:
        r = self.post(
            "/api/0/relays/register/challenge/",
            {"relay_id": self.relay_id, "public_key": str(self.public), "version": self.version},
        )
        assert r.status_code == 200, r.get_json()
        r = self.post(
            "/api/0/relays/register/response/",
            {"relay_id": self.relay_id, "token": r.get_json()["token"], "version": self.version},
        )
        assert r.status_code == 200, r.get_json()

    def configs(self, payload: dict[str, Any], version: int | None) -> tuple[Any, int]:
        query = f"?version={version}" if version is not None else ""
        r = self.post(f"/api/0/relays/projectconfigs/{query}", payload)
        return r.get_json(), r.status_code


def internal_relay(client: FlaskClient, services: Services) -> Relay:
    """Sentry's ``Relay.objects.create(..., is_internal=True)``: a relay whose key the server
    lists as internal, registered through the two-step handshake."""
    relay = Relay(client)
    services.settings = dataclasses.replace(
        services.settings, internal_relays=services.settings.internal_relays | {str(relay.public)}
    )
    relay.register()
    return relay


def external_relay(client: FlaskClient) -> Relay:
    relay = Relay(client)
    relay.register()
    return relay


def settle(services: Services) -> None:
    """A relay is not the writer of what it reads, so read-your-writes does not cover it: wait
    until every view has reached the end of the log (Sentry's tests run its tasks inline)."""
    services.engine.wait(services.store.head(), None, timeout=10)


@pytest.fixture(name="jobs")
def jobs_fixture(services: Services) -> Iterator[None]:
    """Sentry's ``TaskRunner``: the assembly job runner, running (as ``eventry serve`` does)."""
    runner = job_runner(services)
    thread = runner.start()
    yield
    runner.shutdown(thread)


def upload_chunks(client: FlaskClient, t: Tenant, chunks: list[bytes]) -> None:
    """Sentry's ``FileBlob.from_file`` + ``FileBlobOwner``: the organization uploads the chunks."""
    parts = [(io.BytesIO(c), hashlib.sha1(c).hexdigest()) for c in chunks]
    r = client.post(
        f"/api/0/organizations/{t.org_slug}/chunk-upload/",
        data={"file": parts},
        headers=t.headers(),
        content_type="multipart/form-data",
    )
    assert r.status_code == 200, r.get_json()


def artifact_bundle_zip(org: str, release: str | None = None) -> bytes:
    """Sentry's ``create_artifact_bundle_zip``: a bundle as sentry-cli builds it."""
    files = {"files/_/_/index.js": b'console.log("hello")\n//# sourceMappingURL=index.js.map\n'}
    manifest = {
        "org": org,
        "release": release,
        "files": {name: {"url": f"~/{name.rsplit('/', 1)[-1]}", "type": "minified_source"} for name in files},
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
        z.writestr("manifest.json", json.dumps(manifest))
    return out.getvalue()


@dataclasses.dataclass
class RelayCtx:
    """Sentry's relay test fixtures: ``default_project`` (``sentry:scrub_ip_address`` on, as
    their autouse ``setup_relay`` sets it), ``default_projectkey`` and an internal ``relay``."""

    owner: Tenant
    key: dict[str, Any]
    relay: Relay

    @property
    def public_key(self) -> str:
        return str(self.key["public"])

    def add_org_key(self, client: FlaskClient) -> None:
        """Sentry's ``add_org_key``: the organization trusts the relay's key."""
        relays = [{"publicKey": str(self.relay.public), "name": "main-relay"}]
        r = client.put(
            f"/api/0/organizations/{self.owner.org_slug}/",
            json={"trustedRelays": relays},
            headers=self.owner.headers(),
        )
        assert r.status_code == 200, r.get_json()


@pytest.fixture(name="relay_ctx")
def relay_ctx_fixture(client: FlaskClient, services: Services, owner: Tenant) -> RelayCtx:
    r = client.put(
        project_url(owner), json={"options": {"sentry:scrub_ip_address": True}}, headers=owner.headers()
    )
    assert r.status_code == 200, r.get_json()
    return RelayCtx(owner, default_key(client, owner), internal_relay(client, services))


def all_keys(config: dict[str, Any]) -> Iterator[str]:
    """Sentry's ``_get_all_keys`` (breakdown names are data, not field names)."""
    for key in config:
        yield key
        if key == "breakdownsV2":
            continue
        if isinstance(config[key], dict):
            yield from all_keys(config[key])


def assert_no_snakecase_key(config: dict[str, Any]) -> None:
    assert not {x for x in all_keys(config) if "-" in x or "_" in x}


def get_path(data: Any, *path: str) -> Any:
    """Sentry's ``safe.get_path``: None where any step is missing."""
    for step in path:
        if not isinstance(data, dict):
            return None
        data = data.get(step)
    return data


DATE_REGEX = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+Z$"
