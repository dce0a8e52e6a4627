"""Port of Sentry's tests/sentry/api/endpoints/test_relay_projectconfigs_v2.py (configs by public
key, ``?version=2``).

Sentry version: getsentry/sentry at 0b6bc8a532577b4ab048f522a0617d94cc8d0dd1, the newest version
of this file stored. Choice where versions disagree: that version lets a trusted external relay
fetch minimal configs and gives an untrusted one ``{"disabled": true}``; the newest Sentry
endpoint (and the newest test_relay_projectconfigs.py) answers 403 to every relay that is not
internal, so those three tests follow the newest endpoint and expect 403.
A relay is not the writer of what it reads: each fetch first waits for the views (``settle``).
Left out: ``test_relays_dyamic_sampling`` (the old ``sentry:dynamic_sampling`` option, gone from
Sentry), ``test_relay_projectconfig_cache_minimal_config`` and
``test_relay_projectconfig_cache_full_config`` (they patch the cache's ``set_many``; the
nonexistent/disabled tests below keep their HTTP parts).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from flask.testing import FlaskClient

from infra.bootstrap import Services
from tests.sentry.projects_support import (
    DATE_REGEX,
    RelayCtx,
    assert_no_snakecase_key,
    external_relay,
    get_path,
    keys_url,
    owner_fixture,  # noqa: F401 (the ``owner`` fixture)
    relay_ctx_fixture,  # noqa: F401 (the ``relay_ctx`` fixture)
    settle,
)


def call_endpoint(
    services: Services, ctx: RelayCtx, full_config: bool | None, public_keys: list[str] | None = None
) -> tuple[Any, int]:
    settle(services)
    payload: dict[str, Any] = {"publicKeys": public_keys or [ctx.public_key]}
    if full_config is not None:
        payload["fullConfig"] = full_config
    return ctx.relay.configs(payload, version=2)


def test_relay_projectconfigs_v2__test_internal_relays_should_receive_minimal_configs_if_they_do_not_explicitly_ask_for_full_config(  # noqa: E501
    services: Services, relay_ctx: RelayCtx
) -> None:
    """Sentry: test_internal_relays_should_receive_minimal_configs_if_they_do_not_explicitly_ask_for_full_config"""  # noqa: E501
    result, status_code = call_endpoint(services, relay_ctx, full_config=False)
    assert status_code < 400
    assert_no_snakecase_key(result)
    cfg = get_path(result, "configs", relay_ctx.public_key)
    assert get_path(cfg, "config", "filterSettings") is None
    assert get_path(cfg, "config", "groupingConfig") is None


def test_relay_projectconfigs_v2__test_internal_relays_should_receive_full_configs(
    services: Services, relay_ctx: RelayCtx
) -> None:
    """Sentry: test_internal_relays_should_receive_full_configs (``eventRetention`` depends on
    the quota backend's settings: its presence is asserted)"""
    result, status_code = call_endpoint(services, relay_ctx, full_config=True)
    assert status_code < 400
    assert_no_snakecase_key(result)

    cfg = get_path(result, "configs", relay_ctx.public_key)
    assert get_path(cfg, "disabled") is False

    (public_key,) = cfg["publicKeys"]
    assert public_key["publicKey"] == relay_ctx.public_key
    # ``default_projectkey.id``: no route serves a key's numeric id (``id`` is the public key)
    assert isinstance(public_key["numericId"], int)
    assert public_key["isEnabled"]
    assert "quotas" in public_key

    assert get_path(cfg, "slug") == relay_ctx.owner.project_slug
    assert re.match(DATE_REGEX, get_path(cfg, "lastChange")) is not None
    assert re.match(DATE_REGEX, get_path(cfg, "lastFetch")) is not None
    assert get_path(cfg, "organizationId") == relay_ctx.owner.org_id
    assert get_path(cfg, "projectId") == relay_ctx.owner.project_id
    assert get_path(cfg, "rev") is not None

    assert get_path(cfg, "config", "trustedRelays") == []
    assert get_path(cfg, "config", "filterSettings") is not None
    assert get_path(cfg, "config", "groupingConfig", "enhancements") is not None
    assert get_path(cfg, "config", "groupingConfig", "id") is not None
    assert get_path(cfg, "config", "piiConfig", "applications") is None
    assert get_path(cfg, "config", "piiConfig", "rules") is None
    assert get_path(cfg, "config", "datascrubbingSettings", "scrubData") is True
    assert get_path(cfg, "config", "datascrubbingSettings", "scrubDefaults") is True
    assert get_path(cfg, "config", "datascrubbingSettings", "scrubIpAddresses") is True
    assert get_path(cfg, "config", "datascrubbingSettings", "sensitiveFields") == []
    assert get_path(cfg, "config", "quotas") == []
    assert "eventRetention" in cfg["config"]


def test_relay_projectconfigs_v2__test_trusted_external_relays_should_not_be_able_to_request_full_configs(
    client: FlaskClient, services: Services, relay_ctx: RelayCtx
) -> None:
    """Sentry: test_trusted_external_relays_should_not_be_able_to_request_full_configs"""
    relay_ctx.relay = external_relay(client)
    relay_ctx.add_org_key(client)
    _, status_code = call_endpoint(services, relay_ctx, full_config=True)
    assert status_code == 403


def test_relay_projectconfigs_v2__test_when_not_sending_full_config_info_into_a_internal_relay_a_restricted_config_is_returned(  # noqa: E501
    services: Services, relay_ctx: RelayCtx
) -> None:
    """Sentry: test_when_not_sending_full_config_info_into_a_internal_relay_a_restricted_config_is_returned"""
    result, status_code = call_endpoint(services, relay_ctx, full_config=None)
    assert status_code < 400
    cfg = get_path(result, "configs", relay_ctx.public_key)
    assert get_path(cfg, "config", "filterSettings") is None
    assert get_path(cfg, "config", "groupingConfig") is None


def test_relay_projectconfigs_v2__test_when_not_sending_full_config_info_into_an_external_relay_a_restricted_config_is_returned(  # noqa: E501
    client: FlaskClient, services: Services, relay_ctx: RelayCtx
) -> None:
    """Sentry: test_when_not_sending_full_config_info_into_an_external_relay_a_restricted_config_is_returned
    (newest Sentry: 403 for a relay that is not internal)"""
    relay_ctx.relay = external_relay(client)
    relay_ctx.add_org_key(client)
    _, status_code = call_endpoint(services, relay_ctx, full_config=None)
    assert status_code == 403


def test_relay_projectconfigs_v2__test_trusted_external_relays_should_receive_minimal_configs(
    client: FlaskClient, services: Services, relay_ctx: RelayCtx
) -> None:
    """Sentry: test_trusted_external_relays_should_receive_minimal_configs (newest Sentry: 403
    for a relay that is not internal)"""
    relay_ctx.relay = external_relay(client)
    relay_ctx.add_org_key(client)
    _, status_code = call_endpoint(services, relay_ctx, full_config=False)
    assert status_code == 403


def test_relay_projectconfigs_v2__test_untrusted_external_relays_should_not_receive_configs(
    client: FlaskClient, services: Services, relay_ctx: RelayCtx
) -> None:
    """Sentry: test_untrusted_external_relays_should_not_receive_configs (newest Sentry: 403)"""
    relay_ctx.relay = external_relay(client)
    _, status_code = call_endpoint(services, relay_ctx, full_config=False)
    assert status_code == 403


def test_relay_projectconfigs_v2__test_relay_nonexistent_project(
    services: Services, relay_ctx: RelayCtx
) -> None:
    """Sentry: test_relay_nonexistent_project"""
    wrong_public_key = uuid.uuid4().hex  # ``ProjectKey.generate_api_key()``
    result, status_code = call_endpoint(services, relay_ctx, full_config=True, public_keys=[wrong_public_key])
    assert status_code < 400
    assert result == {"configs": {wrong_public_key: {"disabled": True}}}


def test_relay_projectconfigs_v2__test_relay_disabled_project(
    client: FlaskClient, services: Services, relay_ctx: RelayCtx
) -> None:
    """Sentry: test_relay_disabled_project"""
    owner = relay_ctx.owner
    deleted = client.delete(
        f"/api/0/projects/{owner.org_slug}/{owner.project_slug}/", headers=owner.headers()
    )
    assert deleted.status_code == 204
    wrong_public_key = uuid.uuid4().hex
    result, status_code = call_endpoint(services, relay_ctx, full_config=True, public_keys=[wrong_public_key])
    assert status_code < 400
    assert result == {"configs": {wrong_public_key: {"disabled": True}}}


def test_relay_projectconfigs_v2__test_relay_disabled_key(
    client: FlaskClient, services: Services, relay_ctx: RelayCtx
) -> None:
    """Sentry: test_relay_disabled_key"""
    owner = relay_ctx.owner
    r = client.put(
        keys_url(owner) + f"{relay_ctx.public_key}/", json={"isActive": False}, headers=owner.headers()
    )
    assert r.status_code == 200, r.get_json()
    result, status_code = call_endpoint(services, relay_ctx, full_config=True)
    assert status_code < 400
    (http_cfg,) = result["configs"].values()
    assert http_cfg == {"disabled": True}
