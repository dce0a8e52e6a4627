"""Port of Sentry's tests/sentry/api/endpoints/test_relay_projectconfigs.py (protocol version 1:
configs by project id).

Sentry version: getsentry/sentry at 03346771674acf00946c97e65dc97bf2c3a0d194 (the newest stored:
every non-internal relay gets 403, ``sampling`` under ``organizations:dynamic-sampling``).
A relay is not the writer of what it reads, so before each fetch the test waits until the views
reached the end of the log (``settle``), as Sentry's tests run their tasks inline.
``no_internal_networks`` and ``is_internal_relay`` patches are a relay registered without being
listed as internal. Left out: ``test_parse_retentions``, ``test_parse_retentions_with_transactions``,
``test_parse_trimming`` (they patch the quota backend) and ``test_relay_projectconfig_cache_full_config``
(it patches the cache's ``set_many``). The retention values of
``test_internal_relays_should_receive_full_configs`` depend on the quota backend's settings: only
their presence is asserted, with ``retentions`` and ``trimming`` absent (the base backend's).
"""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient

from infra.bootstrap import Services
from tests.sentry.projects_support import (
    DATE_REGEX,
    RelayCtx,
    assert_no_snakecase_key,
    external_relay,
    get_path,
    owner_fixture,  # noqa: F401 (the ``owner`` fixture)
    relay_ctx_fixture,  # noqa: F401 (the ``relay_ctx`` fixture)
    settle,
    with_features,
)


def call_endpoint(services: Services, ctx: RelayCtx, projects: list[Any] | None = None) -> tuple[Any, int]:
    settle(services)
    return ctx.relay.configs({"projects": projects or [str(ctx.owner.project_id)]}, version=None)


def test_relay_projectconfigs__test_internal_relays_should_receive_full_configs(
    services: Services, relay_ctx: RelayCtx
) -> None:
    """Sentry: test_internal_relays_should_receive_full_configs"""
    result, status_code = call_endpoint(services, relay_ctx)
    assert status_code < 400
    assert_no_snakecase_key(result)

    cfg = get_path(result, "configs", str(relay_ctx.owner.project_id))
    assert get_path(cfg, "disabled") is False

    (public_key,) = cfg["publicKeys"]
    assert public_key["publicKey"] == relay_ctx.public_key
    assert public_key["isEnabled"]

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
    assert get_path(cfg, "config", "quotas") is None
    assert "eventRetention" in cfg["config"]
    assert get_path(cfg, "config", "retentions") is None
    assert get_path(cfg, "config", "trimming") is None


def test_relay_projectconfigs__test_relays_dyamic_sampling(services: Services, relay_ctx: RelayCtx) -> None:
    """Sentry: test_relays_dyamic_sampling"""
    with_features(services, "organizations:dynamic-sampling")
    result, status_code = call_endpoint(services, relay_ctx)
    assert status_code < 400
    dynamic_sampling = get_path(result, "configs", str(relay_ctx.owner.project_id), "config", "sampling")
    assert dynamic_sampling == {
        "version": 2,
        "rules": [
            {
                "samplingValue": {"type": "sampleRate", "value": 1.0},
                "type": "trace",
                "condition": {"op": "and", "inner": []},
                "id": 1000,
            }
        ],
    }


def test_relay_projectconfigs__test_trusted_external_relays_should_not_be_able_to_request_full_configs(
    client: FlaskClient, services: Services, relay_ctx: RelayCtx
) -> None:
    """Sentry: test_trusted_external_relays_should_not_be_able_to_request_full_configs"""
    relay_ctx.relay = external_relay(client)
    relay_ctx.add_org_key(client)
    _, status_code = call_endpoint(services, relay_ctx)
    assert status_code == 403


def test_relay_projectconfigs__test_external_relays_do_not_get_project_configuration(
    client: FlaskClient, services: Services, relay_ctx: RelayCtx
) -> None:
    """Sentry: test_external_relays_do_not_get_project_configuration"""
    relay_ctx.relay = external_relay(client)
    relay_ctx.add_org_key(client)
    _, status_code = call_endpoint(services, relay_ctx)
    assert status_code == 403


def test_relay_projectconfigs__test_untrusted_external_relays_should_not_receive_configs(
    client: FlaskClient, services: Services, relay_ctx: RelayCtx
) -> None:
    """Sentry: test_untrusted_external_relays_should_not_receive_configs"""
    relay_ctx.relay = external_relay(client)
    _, status_code = call_endpoint(services, relay_ctx)
    assert status_code == 403


def test_relay_projectconfigs__test_relay_nonexistent_project(
    services: Services, relay_ctx: RelayCtx
) -> None:
    """Sentry: test_relay_nonexistent_project (an id no project has: one past this project's)"""
    wrong_id = relay_ctx.owner.project_id + 1
    result, status_code = call_endpoint(services, relay_ctx, projects=[wrong_id])
    assert status_code < 400
    (http_cfg,) = result["configs"].values()
    assert http_cfg == {"disabled": True}


def test_relay_projectconfigs__test_relay_disabled_project(
    client: FlaskClient, services: Services, relay_ctx: RelayCtx
) -> None:
    """Sentry: test_relay_disabled_project (the project is deleted: pending deletion)"""
    owner = relay_ctx.owner
    deleted = client.delete(
        f"/api/0/projects/{owner.org_slug}/{owner.project_slug}/", headers=owner.headers()
    )
    assert deleted.status_code == 204
    result, status_code = call_endpoint(services, relay_ctx, projects=[owner.project_id])
    assert status_code < 400
    (http_cfg,) = result["configs"].values()
    assert http_cfg == {"disabled": True}


def test_relay_projectconfigs__test_health_check_filters(
    client: FlaskClient, services: Services, relay_ctx: RelayCtx
) -> None:
    """Sentry: test_health_check_filters"""
    relay_ctx.add_org_key(client)
    owner = relay_ctx.owner
    r = client.put(
        f"/api/0/projects/{owner.org_slug}/{owner.project_slug}/",
        json={"options": {"filters:filtered-transaction": "1"}},
        headers=owner.headers(),
    )
    assert r.status_code == 200, r.get_json()
    result, status_code = call_endpoint(services, relay_ctx)
    assert status_code < 400
    filter_settings = get_path(result, "configs", str(owner.project_id), "config", "filterSettings")
    assert filter_settings is not None
    assert "ignoreTransactions" in filter_settings
