"""Port of Sentry's tests/sentry/core/endpoints/test_project_keys.py (the newest location; it
was tests/sentry/api/endpoints/test_project_keys.py before).

Sentry version: getsentry/sentry at 02ca36dbba31ffd8b374d1dcc55f39afdb718dcb.
Left out: ``test_use_case``, ``test_use_case_superuser``, ``test_superuser_can_create_internal``
(internal use-case keys and superusers are not modelled: eventry has no superuser session and no
route creates a non-``user`` key).
``self.create_project()`` is a project made through ``POST /organizations/{org}/projects/``,
which makes its default key as Sentry's project-created signal does.
"""

from __future__ import annotations

from flask.testing import FlaskClient

from infra.bootstrap import Services
from tests.conftest import Tenant
from tests.sentry.projects_support import (
    as_tenant,
    create_project,
    get_key,
    keys_url,
    list_keys,
    owner_fixture,  # noqa: F401 (the ``owner`` fixture)
)


def test_project_keys__ListProjectKeysTest__test_simple(client: FlaskClient, owner: Tenant) -> None:
    """Sentry: ListProjectKeysTest.test_simple"""
    t = as_tenant(owner, create_project(client, owner))
    response = client.get(keys_url(t), headers=t.headers())
    assert response.status_code == 200
    data = response.get_json()
    assert len(data) == 1
    key = data[0]
    assert get_key(client, t, key["public"])["public"] == key["public"]


def endpoint(services: Services, t: Tenant) -> str:
    return f"{services.settings.url_prefix.rstrip('/')}/api/{t.project_id}"


def test_project_keys__ListProjectKeysTest__test_playstation_dsn(
    client: FlaskClient, services: Services, owner: Tenant
) -> None:
    """Sentry: ListProjectKeysTest.test_playstation_dsn (``key.playstation_endpoint``)"""
    t = as_tenant(owner, create_project(client, owner))
    response = client.get(keys_url(t), headers=t.headers())
    assert response.status_code == 200
    key = response.get_json()[0]
    assert key["dsn"]["playstation"] == f"{endpoint(services, t)}/playstation/?sentry_key={key['public']}"


def test_project_keys__ListProjectKeysTest__test_otlp_traces_endpoint(
    client: FlaskClient, services: Services, owner: Tenant
) -> None:
    """Sentry: ListProjectKeysTest.test_otlp_traces_endpoint"""
    t = as_tenant(owner, create_project(client, owner))
    response = client.get(keys_url(t), headers=t.headers())
    assert response.status_code == 200
    assert (
        response.get_json()[0]["dsn"]["otlp_traces"] == f"{endpoint(services, t)}/integration/otlp/v1/traces"
    )


def test_project_keys__ListProjectKeysTest__test_otlp_logs_endpoint(
    client: FlaskClient, services: Services, owner: Tenant
) -> None:
    """Sentry: ListProjectKeysTest.test_otlp_logs_endpoint"""
    t = as_tenant(owner, create_project(client, owner))
    response = client.get(keys_url(t), headers=t.headers())
    assert response.status_code == 200
    assert response.get_json()[0]["dsn"]["otlp_logs"] == f"{endpoint(services, t)}/integration/otlp/v1/logs"


LOADER_DEFAULTS = {"hasPerformance": True, "hasReplay": True}


def loader_data(serialized: dict[str, bool]) -> dict[str, bool]:
    """``key.data["dynamicSdkLoaderOptions"]`` as the serializer shows it: every loader option,
    ``False`` when the key's data does not hold it, so the stored ones are the true ones."""
    return {option: value for option, value in serialized.items() if value}


def test_project_keys__CreateProjectKeyTest__test_simple(client: FlaskClient, owner: Tenant) -> None:
    """Sentry: CreateProjectKeyTest.test_simple (``key.data`` is read back from the key's
    serialization, which carries ``dynamicSdkLoaderOptions``)"""
    t = as_tenant(owner, create_project(client, owner))
    resp = client.post(
        keys_url(t),
        json={"name": "hello world", "rateLimit": {"count": 10, "window": 60}},
        headers=t.headers(),
    )
    assert resp.status_code == 201, resp.get_json()
    key = get_key(client, t, resp.get_json()["public"])
    assert key["label"] == "hello world"
    assert key["rateLimit"] == {"count": 10, "window": 60}
    assert "dynamicSdkLoaderOptions" in key
    assert loader_data(key["dynamicSdkLoaderOptions"]) == LOADER_DEFAULTS


def test_project_keys__CreateProjectKeyTest__test_minimal_args(client: FlaskClient, owner: Tenant) -> None:
    """Sentry: CreateProjectKeyTest.test_minimal_args (a POST without a body)"""
    t = as_tenant(owner, create_project(client, owner))
    resp = client.post(keys_url(t), headers=t.headers())
    assert resp.status_code == 201, resp.get_json()
    key = get_key(client, t, resp.get_json()["public"])
    assert key["label"]
    assert "dynamicSdkLoaderOptions" in key
    assert loader_data(key["dynamicSdkLoaderOptions"]) == LOADER_DEFAULTS


def test_project_keys__CreateProjectKeyTest__test_keys(client: FlaskClient, owner: Tenant) -> None:
    """Sentry: CreateProjectKeyTest.test_keys"""
    t = as_tenant(owner, create_project(client, owner))
    public, secret = "a" * 32, "b" * 32
    resp = client.post(keys_url(t), json={"public": public, "secret": secret}, headers=t.headers())
    assert resp.status_code == 201, resp.get_json()
    key = get_key(client, t, resp.get_json()["public"])
    assert key["public"] == resp.get_json()["public"] == public
    assert key["secret"] == resp.get_json()["secret"] == secret


def test_project_keys__CreateProjectKeyTest__test_cannot_create_internal(
    client: FlaskClient, owner: Tenant
) -> None:
    """Sentry: CreateProjectKeyTest.test_cannot_create_internal (the key stays a ``user`` key:
    Sentry's serializer shows ``useCase`` only to superusers, and lists the key to a user)."""
    t = as_tenant(owner, create_project(client, owner))
    public = "c" * 32
    resp = client.post(
        keys_url(t), json={"public": public, "secret": "d" * 32, "useCase": "profiling"}, headers=t.headers()
    )
    assert resp.status_code == 201, resp.get_json()
    assert "useCase" not in resp.get_json()
    assert public in {k["public"] for k in list_keys(client, t)}
