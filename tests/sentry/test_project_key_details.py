"""Port of Sentry's tests/sentry/core/endpoints/test_project_key_details.py (the newest location;
it was tests/sentry/api/endpoints/test_project_key_details.py before).

Sentry version: getsentry/sentry at 324670486d521492085df2771b751e19bdc7d16d.
Sentry reads ``ProjectKey`` rows back; here the key is read back with ``GET .../keys/{public}/``
(``label``, ``rateLimit``, ``isActive``, ``browserSdkVersion``, ``dynamicSdkLoaderOptions``) and
the audit data from the audit log. Keys made by ``ProjectKey.objects.create(rate_limit_...)``
are made with ``POST .../keys/``.
Left out: ``UpdateProjectKeyTest.test_use_case``, ``DeleteProjectKeyTest.test_use_case`` (internal
use-case keys and superusers are not modelled; no route makes such a key).
"""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.conftest import Tenant
from tests.sentry.projects_support import (
    as_tenant,
    audit_rows,
    create_key,
    create_project,
    default_key,
    get_key,
    keys_url,
    list_keys,
    owner_fixture,  # noqa: F401 (the ``owner`` fixture)
)


def key_url(t: Tenant, key: dict[str, Any]) -> str:
    return keys_url(t) + f"{key['public']}/"


def project(client: FlaskClient, owner: Tenant) -> Tenant:
    return as_tenant(owner, create_project(client, owner))


def test_project_key_details__UpdateProjectKeyTest__test_simple(client: FlaskClient, owner: Tenant) -> None:
    """Sentry: UpdateProjectKeyTest.test_simple"""
    t = project(client, owner)
    key = default_key(client, t)
    response = client.put(key_url(t, key), json={"name": "hello world"}, headers=t.headers())
    assert response.status_code == 200
    assert get_key(client, t, key["public"])["label"] == "hello world"


def test_project_key_details__UpdateProjectKeyTest__test_no_rate_limit(
    client: FlaskClient, owner: Tenant
) -> None:
    """Sentry: UpdateProjectKeyTest.test_no_rate_limit"""
    t = project(client, owner)
    key = create_key(client, t, rateLimit={"window": 60, "count": 1})
    response = client.put(key_url(t, key), json={"rateLimit": None}, headers=t.headers())
    assert response.status_code == 200, response.get_json()
    assert get_key(client, t, key["public"])["rateLimit"] is None


def test_project_key_details__UpdateProjectKeyTest__test_unset_rate_limit(
    client: FlaskClient, owner: Tenant
) -> None:
    """Sentry: UpdateProjectKeyTest.test_unset_rate_limit (a PUT without a body)"""
    t = project(client, owner)
    key = create_key(client, t, rateLimit={"window": 60, "count": 1})
    response = client.put(key_url(t, key), headers=t.headers())
    assert response.status_code == 200
    assert get_key(client, t, key["public"])["rateLimit"] == {"count": 1, "window": 60}


def test_project_key_details__UpdateProjectKeyTest__test_remove_rate_limit(
    client: FlaskClient, owner: Tenant
) -> None:
    """Sentry: UpdateProjectKeyTest.test_remove_rate_limit"""
    t = project(client, owner)
    key = create_key(client, t, rateLimit={"window": 60, "count": 1})
    response = client.put(
        key_url(t, key), json={"rateLimit": {"count": "", "window": 300}}, headers=t.headers()
    )
    assert response.status_code == 200
    assert get_key(client, t, key["public"])["rateLimit"] is None


def test_project_key_details__UpdateProjectKeyTest__test_simple_rate_limit(
    client: FlaskClient, owner: Tenant
) -> None:
    """Sentry: UpdateProjectKeyTest.test_simple_rate_limit"""
    t = project(client, owner)
    key = create_key(client, t)
    response = client.put(
        key_url(t, key), json={"rateLimit": {"count": 1, "window": 60}}, headers=t.headers()
    )
    assert response.status_code == 200
    assert get_key(client, t, key["public"])["rateLimit"] == {"count": 1, "window": 60}


def test_project_key_details__UpdateProjectKeyTest__test_rate_limit_change_data(
    client: FlaskClient, owner: Tenant
) -> None:
    """Sentry: UpdateProjectKeyTest.test_rate_limit_change_data (Sentry mocks
    ``create_audit_entry``; here the ``projectkey.edit`` entry's data is read from the audit log)"""
    t = project(client, owner)
    key = create_key(client, t)
    response = client.put(
        key_url(t, key), json={"rateLimit": {"count": 1, "window": 60}}, headers=t.headers()
    )
    assert response.status_code == 200
    assert get_key(client, t, key["public"])["rateLimit"] == {"count": 1, "window": 60}

    data = audit_rows(client, t, "projectkey.edit")[0]["data"]
    assert data["prev_rate_limit_count"] is None
    assert data["prev_rate_limit_window"] is None
    assert data["rate_limit_count"] == 1
    assert data["rate_limit_window"] == 60


def test_project_key_details__UpdateProjectKeyTest__test_deactivate(
    client: FlaskClient, owner: Tenant
) -> None:
    """Sentry: UpdateProjectKeyTest.test_deactivate"""
    t = project(client, owner)
    key = default_key(client, t)
    response = client.put(
        key_url(t, key), json={"isActive": False, "name": "hello world"}, headers=t.headers()
    )
    assert response.status_code == 200
    key = get_key(client, t, key["public"])
    assert key["label"] == "hello world"
    assert key["isActive"] is False


def test_project_key_details__UpdateProjectKeyTest__test_default_browser_sdk_version(
    client: FlaskClient, owner: Tenant
) -> None:
    """Sentry: UpdateProjectKeyTest.test_default_browser_sdk_version
    (``get_default_sdk_version_for_project`` of a new project is the newest loader, ``10.x``)"""
    t = project(client, owner)
    key = default_key(client, t)
    response = client.put(key_url(t, key), json={}, headers=t.headers())
    assert response.status_code == 200
    assert get_key(client, t, key["public"])["browserSdkVersion"] == "10.x"


def test_project_key_details__UpdateProjectKeyTest__test_set_browser_sdk_version(
    client: FlaskClient, owner: Tenant
) -> None:
    """Sentry: UpdateProjectKeyTest.test_set_browser_sdk_version"""
    t = project(client, owner)
    key = default_key(client, t)
    response = client.put(key_url(t, key), json={"browserSdkVersion": "5.x"}, headers=t.headers())
    assert response.status_code == 200
    assert get_key(client, t, key["public"])["browserSdkVersion"] == "5.x"


LOADER_OPTIONS = ("hasReplay", "hasPerformance", "hasDebug")


def loader(client: FlaskClient, t: Tenant, key: dict[str, Any]) -> dict[str, bool]:
    """``key.data["dynamicSdkLoaderOptions"]`` as served: the serializer shows every option."""
    options = get_key(client, t, key["public"])["dynamicSdkLoaderOptions"]
    return {name: options[name] for name in LOADER_OPTIONS}


def test_project_key_details__UpdateProjectKeyTest__test_default_dynamic_sdk_loader_options(
    client: FlaskClient, owner: Tenant
) -> None:
    """Sentry: UpdateProjectKeyTest.test_default_dynamic_sdk_loader_options"""
    t = project(client, owner)
    key = default_key(client, t)
    response = client.put(key_url(t, key), json={}, headers=t.headers())
    assert response.status_code == 200
    assert loader(client, t, key) == {"hasPerformance": True, "hasReplay": True, "hasDebug": False}


def test_project_key_details__UpdateProjectKeyTest__test_dynamic_sdk_loader_options(
    client: FlaskClient, owner: Tenant
) -> None:
    """Sentry: UpdateProjectKeyTest.test_dynamic_sdk_loader_options"""
    t = project(client, owner)
    key = default_key(client, t)
    url = key_url(t, key)

    def put(options: dict[str, Any]) -> int:
        return client.put(url, json={"dynamicSdkLoaderOptions": options}, headers=t.headers()).status_code

    assert put({}) == 200
    assert loader(client, t, key) == {"hasPerformance": True, "hasReplay": True, "hasDebug": False}

    assert put({"hasReplay": False, "hasDebug": True}) == 200
    assert loader(client, t, key) == {"hasReplay": False, "hasPerformance": True, "hasDebug": True}

    assert put({"hasReplay": False, "hasPerformance": True}) == 200
    assert loader(client, t, key) == {"hasReplay": False, "hasPerformance": True, "hasDebug": True}

    assert put({"hasDebug": False, "invalid-key": "blah"}) == 200
    assert loader(client, t, key) == {"hasReplay": False, "hasPerformance": True, "hasDebug": False}

    assert put({"hasReplay": "invalid"}) == 400
    assert loader(client, t, key) == {"hasReplay": False, "hasPerformance": True, "hasDebug": False}

    assert put({"invalid-key": "blah"}) == 200
    assert loader(client, t, key) == {"hasReplay": False, "hasPerformance": True, "hasDebug": False}


def test_project_key_details__UpdateProjectKeyTest__test_cannot_upgrade_to_internal(
    client: FlaskClient, owner: Tenant
) -> None:
    """Sentry: UpdateProjectKeyTest.test_cannot_upgrade_to_internal (the key stays a ``user``
    key: still listed, and Sentry hides ``useCase`` from non-superusers)"""
    t = project(client, owner)
    key = default_key(client, t)
    client.put(key_url(t, key), json={"useCase": "profiling", "name": "updated"}, headers=t.headers())
    updated = get_key(client, t, key["public"])
    assert updated["label"] == "updated"
    assert "useCase" not in updated
    assert key["public"] in {k["public"] for k in list_keys(client, t)}


def test_project_key_details__DeleteProjectKeyTest__test_simple(client: FlaskClient, owner: Tenant) -> None:
    """Sentry: DeleteProjectKeyTest.test_simple"""
    t = project(client, owner)
    key = default_key(client, t)
    resp = client.delete(key_url(t, key), headers=t.headers())
    assert resp.status_code == 204, resp.get_json()
    assert key["public"] not in {k["public"] for k in list_keys(client, t)}
    assert client.get(key_url(t, key), headers=t.headers()).status_code == 404
